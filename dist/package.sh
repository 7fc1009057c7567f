#!/usr/bin/env bash
# Packages one target's binaries for a release: package.sh TARGET BIN_DIR OUT_DIR
# Writes OUT_DIR/htdemucs-devops-TARGET.tar.xz (a folder htdemucs-devops-TARGET/ with the
# binaries found in BIN_DIR, README and licences) and its `.sha256` ("<hex>  <file name>",
# the format sha256sum -c reads).
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[[ $# -eq 3 ]] || die "usage: package.sh TARGET BIN_DIR OUT_DIR"
target=$1
bin_dir=$2
out_dir=$3
[[ -x "$bin_dir/htdemucs-devops" ]] || die "$bin_dir/htdemucs-devops is missing or not executable"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name="htdemucs-devops-$target"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" "$out_dir"
for bin in htdemucs-devops htdemucs-stage-runner; do
  if [[ -f "$bin_dir/$bin" ]]; then
    cp "$bin_dir/$bin" "$stage/$name/"
    chmod 755 "$stage/$name/$bin"
  fi
done
for doc in README.md LICENSE LICENSE-MIT LICENSE-APACHE; do
  if [[ -f "$root/$doc" ]]; then cp "$root/$doc" "$stage/$name/"; fi
done

# Fixed owner and order keep the archive free of builder details.
tar --owner=0 --group=0 --numeric-owner --sort=name -C "$stage" -cf - "$name" 2>/dev/null |
  xz -9 -T1 >"$out_dir/$name.tar.xz" ||
  tar -C "$stage" -cf - "$name" | xz -9 -T1 >"$out_dir/$name.tar.xz"
(
  cd "$out_dir"
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$name.tar.xz" >"$name.tar.xz.sha256"
  else
    shasum -a 256 "$name.tar.xz" >"$name.tar.xz.sha256"
  fi
)
printf '%s\n' "$out_dir/$name.tar.xz"
