#!/usr/bin/env bash
# Builds the Python wheel that carries the htdemucs-devops binary:
#   wheel.sh TARGET OUT_DIR [MATURIN_BUILD_ARGS...]
# Runs `maturin build` (pyproject.toml: `bin` bindings, the main binary only) with the
# licences and THIRD-PARTY-NOTICES (dist/notices.py, for TARGET) in the wheel's
# dist-info/licenses, then writes a `.sha256` beside each wheel in OUT_DIR. Extra arguments
# go to maturin as they are (`--release --target TARGET --compatibility pypi` in the
# release workflow; `--profile dev` in the tests, which reuses their build).
#
#   FEATURES        the cargo features the release binaries are built with; passed on so the
#                   wheel's build reuses theirs [none]
#   EXPECT_VERSION  the release tag (v1.2.3); refused unless Cargo.toml has that version
#   MATURIN         the maturin to run [maturin]
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[[ $# -ge 2 ]] || die "usage: wheel.sh TARGET OUT_DIR [MATURIN_BUILD_ARGS...]"
target=$1
out_dir=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

pkgid=$(cargo pkgid --quiet 2>/dev/null) || die "cargo pkgid failed in $root: is cargo installed?"
version=${pkgid##*[@#]}
if [[ -n "${EXPECT_VERSION:-}" && "${EXPECT_VERSION#v}" != "$version" ]]; then
  die "Cargo.toml has version $version but the release is $EXPECT_VERSION; set [package] version to ${EXPECT_VERSION#v} and tag again"
fi
maturin=${MATURIN:-maturin}
command -v "$maturin" >/dev/null 2>&1 ||
  die "$maturin not found: pip install the maturin pinned in requirements-dev.txt"

# pyproject.toml lists THIRD-PARTY-NOTICES* among its licence files; it exists only for the
# length of this build (it is generated, and .gitignore'd).
notices=$root/THIRD-PARTY-NOTICES
trap 'rm -f "$notices"' EXIT
python3 dist/notices.py "$target" "${FEATURES:-}" >"$notices" ||
  die "could not write THIRD-PARTY-NOTICES (dist/notices.py needs cargo and python3)"

mkdir -p "$out_dir"
args=(build --out "$out_dir")
[[ -n "${FEATURES:-}" ]] && args+=(--features "$FEATURES")
"$maturin" "${args[@]}" "$@" || die "maturin build failed (see above)"

shopt -s nullglob
wheels=("$out_dir"/htdemucs_devops-*.whl)
((${#wheels[@]} > 0)) || die "maturin wrote no htdemucs_devops-*.whl into $out_dir"
for whl in "${wheels[@]}"; do
  (
    cd "$(dirname "$whl")"
    name=$(basename "$whl")
    if command -v sha256sum >/dev/null 2>&1; then
      sha256sum "$name" >"$name.sha256"
    else
      shasum -a 256 "$name" >"$name.sha256"
    fi
  )
  printf '%s\n' "$whl"
done
