#!/usr/bin/env bash
# Records a release in dist/manifest: update-manifest.sh VERSION DIR [MANIFEST]
# DIR holds the archives and the `.sha256` files that dist/package.sh wrote. Each checksum
# is re-computed from its archive; lines for VERSION are replaced, other versions kept, and
# `current` moves to VERSION unless a newer release is already current. Written to a
# temporary file and renamed, so a failure leaves the manifest as it was.
set -euo pipefail

die() { printf 'error: %s\n' "$*" >&2; exit 2; }

[[ $# -ge 2 ]] || die "usage: update-manifest.sh VERSION DIR [MANIFEST]"
version=$1
dir=$2
manifest=${3:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/manifest}
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "'$version' is not a version like v1.2.3"
[[ -d "$dir" ]] || die "$dir is not a folder"
[[ -f "$manifest" ]] || die "$manifest does not exist"

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

entries=()
shopt -s nullglob
for sum in "$dir"/htdemucs-devops-*.tar.xz.sha256; do
  archive=${sum%.sha256}
  name=$(basename "$archive")
  target=${name#htdemucs-devops-}
  target=${target%.tar.xz}
  [[ -f "$archive" ]] || die "$sum has no archive $archive beside it"
  recorded=$(cut -d' ' -f1 <"$sum")
  actual=$(sha256_of "$archive")
  [[ "$recorded" == "$actual" ]] || die "$sum says $recorded but $name hashes to $actual"
  entries+=("$version $target $actual")
done
((${#entries[@]} > 0)) || die "no htdemucs-devops-*.tar.xz.sha256 files in $dir"

current=$(awk '$1 == "current" { print $2 }' "$manifest")
new_current=$version
if [[ -n "$current" && "$current" != "$version" ]]; then
  newest=$(printf '%s\n%s\n' "${current#v}" "${version#v}" | sort -V | tail -n 1)
  [[ "$newest" == "${version#v}" ]] || new_current=$current
fi

tmp=$(mktemp "$manifest.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  # Comments first, then `current`, then every entry sorted (newest version first).
  grep '^#' "$manifest" || true
  printf 'current %s\n' "$new_current"
  {
    awk -v v="$version" '$1 !~ /^#/ && $1 != "current" && $1 != v && NF == 3' "$manifest"
    printf '%s\n' "${entries[@]}"
  } | sort -k1,1Vr -k2,2
} >"$tmp"
mv "$tmp" "$manifest"
trap - EXIT
printf 'recorded %d archive(s) for %s in %s (current: %s)\n' "${#entries[@]}" "$version" "$manifest" "$new_current"
