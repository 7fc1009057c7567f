#!/usr/bin/env bash
# Packages one target's binaries for a release: package.sh TARGET BIN_DIR OUT_DIR
# Writes OUT_DIR/htdemucs-devops-TARGET.tar.xz (a folder htdemucs-devops-TARGET/ with the
# binaries found in BIN_DIR, README, LICENSE-MIT, LICENSE-APACHE and THIRD-PARTY-NOTICES)
# and its `.sha256` ("<hex>  <file name>", the format sha256sum -c reads).
#
#   FEATURES   the cargo features the binaries were built with (for the notices) [none]
#   HTDEMUCS_DEVOPS_XZ_LEVEL  xz preset, 0-9 [9] (tests use a fast one)
#
# THIRD-PARTY-NOTICES is generated here by dist/notices.py from Cargo.lock (needs cargo
# and python3). A stage runner carrying an rpath or runpath is refused: a released runner
# finds libtorch at run time (src/runner/libtorch.rs), never in the build machine's folders.
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
runner="$stage/$name/htdemucs-stage-runner"
if [[ -f "$runner" ]]; then
  if command -v readelf >/dev/null 2>&1 && readelf -h "$runner" >/dev/null 2>&1; then
    if readelf -d "$runner" | grep -Eq '\((RPATH|RUNPATH)\)'; then
      die "$bin_dir/htdemucs-stage-runner has an rpath ($(readelf -d "$runner" | grep -E 'R(UN)?PATH' | tr -s ' ')); rebuild it with this repository's build.rs"
    fi
  elif command -v otool >/dev/null 2>&1 && otool -l "$runner" | grep -q LC_RPATH; then
    die "$bin_dir/htdemucs-stage-runner has an LC_RPATH; rebuild it with this repository's build.rs"
  fi
fi
for doc in README.md LICENSE-MIT LICENSE-APACHE; do
  [[ -f "$root/$doc" ]] || die "$root/$doc is missing; every archive carries it"
  cp "$root/$doc" "$stage/$name/"
done
(cd "$root" && python3 dist/notices.py "$target" "${FEATURES:-}") >"$stage/$name/THIRD-PARTY-NOTICES" ||
  die "could not write THIRD-PARTY-NOTICES (dist/notices.py needs cargo and python3)"

# Fixed owner and order keep the archive free of builder details.
level=${HTDEMUCS_DEVOPS_XZ_LEVEL:-9}
[[ "$level" =~ ^[0-9]$ ]] || die "HTDEMUCS_DEVOPS_XZ_LEVEL must be 0-9, not '$level'"
tar --owner=0 --group=0 --numeric-owner --sort=name -C "$stage" -cf - "$name" 2>/dev/null |
  xz "-$level" -T1 >"$out_dir/$name.tar.xz" ||
  tar -C "$stage" -cf - "$name" | xz "-$level" -T1 >"$out_dir/$name.tar.xz"
(
  cd "$out_dir"
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$name.tar.xz" >"$name.tar.xz.sha256"
  else
    shasum -a 256 "$name.tar.xz" >"$name.tar.xz.sha256"
  fi
)
printf '%s\n' "$out_dir/$name.tar.xz"
