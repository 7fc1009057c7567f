#!/usr/bin/env bash
# Installs the htdemucs-devops binary for the composite action (action.yml), or for any
# CI/shell that sets the same variables. Everything comes in through the environment:
#
#   HTDEMUCS_DEVOPS_BINARY_PATH    use this binary instead of downloading (act, offline,
#                                  self-built); relative paths are taken from GITHUB_WORKSPACE
#   HTDEMUCS_DEVOPS_BINARY         the same, from the job's environment (`act --env ...`),
#                                  used when the binary-path input is empty
#   HTDEMUCS_DEVOPS_VERSION        release to install (v1.2.3); empty = the action's own ref
#                                  when that is a full version, else the manifest's `current`;
#                                  `source` builds from the action's checkout with cargo
#   HTDEMUCS_DEVOPS_ACTION_REF     the ref the action was used at (github.action_ref)
#   HTDEMUCS_DEVOPS_DOWNLOAD_BASE  where releases live [$GITHUB_SERVER_URL/zakkeown/
#                                  htdemucs-devops/releases/download]; the archive URL is
#                                  <base>/<version>/htdemucs-devops-<target>.tar.xz
#   HTDEMUCS_DEVOPS_MANIFEST       checksum manifest [dist/manifest beside this script]
#   HTDEMUCS_DEVOPS_RETRIES        download attempts [4]; HTDEMUCS_DEVOPS_RETRY_DELAY first
#                                  pause in seconds, doubled after each failure [2]
#   HTDEMUCS_DEVOPS_CONNECT_TIMEOUT  seconds to connect [20]
#   HTDEMUCS_DEVOPS_STALL_TIMEOUT  seconds without a byte (no answer, stalled body) [30]
#   HTDEMUCS_DEVOPS_MAX_TIME       seconds for one whole attempt [300]
#   RUNNER_OS, RUNNER_ARCH         the runner's platform (cross-checked with uname -m)
#   RUNNER_TOOL_CACHE, RUNNER_TEMP where to cache the binary / keep scratch files
#   GITHUB_PATH, GITHUB_OUTPUT     the binary's folder is added to PATH; `path` output is set
#
# Exit status: 0 installed, 2 refused (unknown platform, checksum mismatch, no manifest
# entry, download failed after retries). Errors are GitHub `::error::` annotations in Actions.
set -euo pipefail

readonly TOOL=htdemucs-devops
readonly TARGETS="aarch64-apple-darwin x86_64-apple-darwin x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu"
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
# Messages go to the step log through fd 3 (the original stdout), so helpers whose stdout is
# captured with $(...) can still report.
exec 3>&1
scratch=""
trap 'if [[ -n "$scratch" ]]; then rm -rf "$scratch"; fi' EXIT

in_actions() { [[ "${GITHUB_ACTIONS:-}" == "true" || "${ACT:-}" == "true" ]]; }

# Workflow-command data escaping, as @actions/core does it, so text from inputs or the
# network cannot end the command early or forge another one.
escape_data() {
  local s=$1
  s=${s//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  s=${s//$'\n'/'%0A'}
  printf '%s' "$s"
}

info() { printf '%s\n' "$TOOL install: $*" >&3; }

warn() {
  if in_actions; then
    printf '::warning title=%s install::%s\n' "$TOOL" "$(escape_data "$*")" >&3
  else
    printf 'warning: %s\n' "$*" >&2
  fi
}

die() {
  if in_actions; then
    printf '::error title=%s install::%s\n' "$TOOL" "$(escape_data "$*")" >&3
  fi
  printf 'error: %s\n' "$*" >&2
  exit 2
}

# Sets the step output and PATH entry (when running as an action step).
publish() {
  local bin=$1
  local dir
  dir=$(dirname "$bin")
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    printf '%s\n' "$dir" >>"$GITHUB_PATH"
  fi
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf 'path=%s\n' "$bin" >>"$GITHUB_OUTPUT"
  fi
  info "using $bin"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum is installed; cannot verify the download"
  fi
}

# --- platform ---------------------------------------------------------------------------

# Prints the release target for this machine. RUNNER_OS/RUNNER_ARCH say what the runner
# claims; uname says what will actually execute the binary. When they disagree (an emulated
# container under act, a Rosetta shell) the machine wins, with a warning.
detect_target() {
  local os=${RUNNER_OS:-} arch=${RUNNER_ARCH:-} machine
  machine=$(uname -m 2>/dev/null || echo unknown)
  if [[ -z "$os" ]]; then
    case "$(uname -s 2>/dev/null)" in
      Darwin) os=macOS ;;
      Linux) os=Linux ;;
      *) os=$(uname -s 2>/dev/null || echo unknown) ;;
    esac
  fi
  local from_machine=""
  case "$machine" in
    x86_64 | amd64) from_machine=X64 ;;
    arm64 | aarch64) from_machine=ARM64 ;;
  esac
  # A Rosetta-translated shell reports x86_64 on Apple silicon; the native binary is better.
  if [[ "$os" == "macOS" && "$from_machine" == "X64" ]] &&
    [[ "$(sysctl -n hw.optional.arm64 2>/dev/null || echo 0)" == "1" ]]; then
    from_machine=ARM64
  fi
  if [[ -z "$from_machine" && "$machine" != "unknown" ]]; then
    # A CPU we have no build for; whatever RUNNER_ARCH says, nothing we ship runs here.
    from_machine=$machine
  fi
  if [[ -z "$arch" ]]; then
    arch=$from_machine
  elif [[ -n "$from_machine" && "$arch" != "$from_machine" ]]; then
    warn "RUNNER_ARCH is $arch but this machine is $machine; installing for $machine"
    arch=$from_machine
  fi
  local target=""
  case "$os/$arch" in
    macOS/ARM64) target=aarch64-apple-darwin ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    Linux/X64) target=x86_64-unknown-linux-gnu ;;
    Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  esac
  if [[ -z "$target" ]]; then
    die "no prebuilt $TOOL for ${os:-unknown OS}/${arch:-unknown arch} (uname -m: $machine); prebuilt targets: $TARGETS. Use the binary-path input with a binary you built, or version: source to build with cargo."
  fi
  printf '%s\n' "$target"
}

# --- manifest ---------------------------------------------------------------------------

manifest_file() { printf '%s\n' "${HTDEMUCS_DEVOPS_MANIFEST:-$SCRIPT_DIR/manifest}"; }

# The `current` version named by the manifest (the newest release).
manifest_current() {
  local m
  m=$(manifest_file)
  [[ -r "$m" ]] || die "the checksum manifest $m is missing; reinstall the action or set HTDEMUCS_DEVOPS_MANIFEST"
  awk '$1 == "current" { v = $2 } END { if (v != "") print v }' "$m"
}

# The expected SHA-256 of <version> <target>, empty when the manifest has no such line.
manifest_sha() {
  local m
  m=$(manifest_file)
  [[ -r "$m" ]] || die "the checksum manifest $m is missing; reinstall the action or set HTDEMUCS_DEVOPS_MANIFEST"
  awk -v v="$1" -v t="$2" '$1 == v && $2 == t { print $3; exit }' "$m"
}

resolve_version() {
  local v=${HTDEMUCS_DEVOPS_VERSION:-}
  if [[ -z "$v" ]]; then
    local ref=${HTDEMUCS_DEVOPS_ACTION_REF:-}
    if [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
      v=$ref
    else
      # A major tag (v1), a branch or a commit: the manifest shipped at that ref says
      # which release it belongs to.
      v=$(manifest_current) || exit 2
      [[ -n "$v" ]] || die "the checksum manifest $(manifest_file) names no current release; set the version input (e.g. v1.2.3)"
    fi
  fi
  [[ "$v" == v* ]] || v="v$v"
  if [[ ! "$v" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
    die "version '$v' is not a release version like v1.2.3 (or 'source' to build from source)"
  fi
  printf '%s\n' "$v"
}

# --- download ---------------------------------------------------------------------------

# Downloads $1 to $2, retrying connection failures, 5xx, 408 and 429 with a doubling pause.
# A 404 is not retried: the release or the asset does not exist.
download() {
  local url=$1 out=$2
  local attempts=${HTDEMUCS_DEVOPS_RETRIES:-4} delay=${HTDEMUCS_DEVOPS_RETRY_DELAY:-2}
  command -v curl >/dev/null 2>&1 || die "curl is not installed; it is needed to download $url"
  local connect=${HTDEMUCS_DEVOPS_CONNECT_TIMEOUT:-20} stall=${HTDEMUCS_DEVOPS_STALL_TIMEOUT:-30}
  local max=${HTDEMUCS_DEVOPS_MAX_TIME:-300}
  local i code rc
  for ((i = 1; i <= attempts; i++)); do
    # A server that accepts and then never answers (or stops mid-body) is cut off after
    # $stall seconds below 1 byte/s; no attempt lasts longer than $max seconds.
    rc=0
    code=$(curl --silent --show-error --location --output "$out" --write-out '%{http_code}' \
      --connect-timeout "$connect" --speed-limit 1 --speed-time "$stall" --max-time "$max" \
      "$url" 2>"$out.err") || rc=$?
    if ((rc == 28)); then
      code="timeout: no answer within ${stall}s (or ${connect}s to connect, ${max}s in all)"
    elif ((rc != 0)); then
      code="curl exit $rc: $(tr '\n' ' ' <"$out.err")"
    fi
    case "$code" in
      200) return 0 ;;
      404) die "$url was not found (404): is there a release with that version for this platform?" ;;
      5?? | 408 | 429 | curl* | timeout*) ;;
      *) die "downloading $url failed with HTTP $code" ;;
    esac
    if ((i < attempts)); then
      warn "download attempt $i of $attempts failed ($code); retrying in ${delay}s"
      sleep "$delay"
      delay=$((delay * 2))
    else
      die "downloading $url failed $attempts times (last: $code); check the network or HTDEMUCS_DEVOPS_DOWNLOAD_BASE"
    fi
  done
}

# --- install paths ----------------------------------------------------------------------

use_binary_path() {
  local p=$1
  if [[ "$p" != /* ]]; then
    p="${GITHUB_WORKSPACE:-$PWD}/$p"
  fi
  [[ -f "$p" ]] || die "binary-path $p does not exist (build it first, e.g. cargo build, or clear binary-path to download a release)"
  [[ -x "$p" ]] || die "binary-path $p is not executable (chmod +x it)"
  # A private folder holding a link named htdemucs-devops, so PATH finds it by that name
  # whatever the file is called.
  local dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$TOOL-bin"
  mkdir -p "$dir"
  ln -sf "$p" "$dir/$TOOL"
  publish "$dir/$TOOL"
}

build_from_source() {
  command -v cargo >/dev/null 2>&1 || die "version: source needs cargo (install Rust, e.g. with dtolnay/rust-toolchain)"
  local src=${HTDEMUCS_DEVOPS_SOURCE_DIR:-$(dirname "$SCRIPT_DIR")}
  local root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/$TOOL-source"
  info "building from source in $src (cargo install --locked)"
  cargo install --locked --path "$src" --root "$root" --bin "$TOOL" >&2 ||
    die "cargo install from $src failed (see the log above)"
  publish "$root/bin/$TOOL"
}

install_release() {
  local target version expected
  # Each $(...) runs in a subshell where `set -e` does not reach (bash < 4.4), so a
  # refusal inside is passed on explicitly.
  target=$(detect_target) || exit 2
  version=$(resolve_version) || exit 2
  expected=$(manifest_sha "$version" "$target") || exit 2
  if [[ -z "$expected" ]]; then
    die "the checksum manifest $(manifest_file) has no entry for $TOOL $version on $target, so it cannot be verified; use a version the manifest lists (current: $(manifest_current || true)), or binary-path"
  fi
  if [[ ! "$expected" =~ ^[0-9a-f]{64}$ ]]; then
    die "the checksum manifest $(manifest_file) has a malformed SHA-256 for $version $target"
  fi

  # Tool cache layout as actions/tool-cache uses it: <cache>/<tool>/<version>/<arch>/ with
  # a sibling <arch>.complete marker. The verified archive is kept beside it
  # (<arch>.tar.xz): a cached install is reused only after the archive re-hashes to the
  # manifest's SHA-256 and the installed files are byte for byte what it holds.
  local cache_root=${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}
  local dest="$cache_root/$TOOL/${version#v}/$target"
  local archive="$TOOL-$target.tar.xz"
  local tmp_base=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
  mkdir -p "$tmp_base"
  scratch=$(mktemp -d "$tmp_base/$TOOL-install.XXXXXX")

  if [[ -f "$dest.tar.xz" ]]; then
    local cached
    cached=$(sha256_of "$dest.tar.xz") || exit 2
    if [[ "$cached" == "$expected" ]]; then
      local files
      files=$(unpack "$dest.tar.xz" "$scratch/cached") || exit 2
      if [[ -f "$dest.complete" && -x "$dest/$TOOL" ]] && diff -r -q "$files" "$dest" >/dev/null 2>&1; then
        info "$version for $target found in the tool cache (verified against dist/manifest)"
        publish "$dest/$TOOL"
        return 0
      fi
      warn "the cached $TOOL $version differs from its verified archive (changed on disk?); reinstalling it from the archive"
      install_files "$files" "$dest"
      publish "$dest/$TOOL"
      return 0
    fi
    warn "the cached archive of $TOOL $version does not match dist/manifest ($cached, expected $expected); downloading it again"
  elif [[ -e "$dest" ]]; then
    info "the cached $TOOL $version cannot be verified (no archive kept beside it); downloading it again"
  fi

  local base=${HTDEMUCS_DEVOPS_DOWNLOAD_BASE:-${GITHUB_SERVER_URL:-https://github.com}/zakkeown/htdemucs-devops/releases/download}
  local url="${base%/}/$version/$archive"
  info "downloading $url"
  download "$url" "$scratch/$archive"

  local actual
  actual=$(sha256_of "$scratch/$archive") || exit 2
  if [[ "$actual" != "$expected" ]]; then
    die "checksum mismatch for $archive from $url: expected $expected (dist/manifest), got $actual. The download was altered or the mirror serves another build; refusing to install."
  fi

  local files
  files=$(unpack "$scratch/$archive" "$scratch/x") || exit 2
  install_files "$files" "$dest"
  cp "$scratch/$archive" "$dest.tar.xz"
  publish "$dest/$TOOL"
}

# Unpacks archive $1 into folder $2 and prints the folder holding the binary.
unpack() {
  mkdir -p "$2"
  tar -xJf "$1" -C "$2" || die "cannot unpack $1 (is xz installed?)"
  local found
  found=$(find "$2" -type f -name "$TOOL" | head -n 1) || true
  [[ -n "$found" ]] || die "$(basename "$1") holds no $TOOL binary"
  dirname "$found"
}

# Replaces the cached install $2 with the files in folder $1.
install_files() {
  rm -rf "$2" "$2.complete"
  mkdir -p "$2"
  cp -R "$1/." "$2/"
  chmod +x "$2/$TOOL"
  : >"$2.complete"
}

main() {
  if [[ -n "${HTDEMUCS_DEVOPS_BINARY_PATH:-}" ]]; then
    use_binary_path "$HTDEMUCS_DEVOPS_BINARY_PATH"
  elif [[ -n "${HTDEMUCS_DEVOPS_BINARY:-}" ]]; then
    use_binary_path "$HTDEMUCS_DEVOPS_BINARY"
  elif [[ "${HTDEMUCS_DEVOPS_VERSION:-}" == "source" ]]; then
    build_from_source
  else
    install_release
  fi
}

main "$@"
