#!/usr/bin/env bash
# Runs one phase for the composite action (action.yml). Inputs arrive as environment
# variables only, never spliced into this script's text, so no input can inject shell:
#
#   HTDEMUCS_DEVOPS_BIN           the binary dist/install.sh installed
#   HTDEMUCS_DEVOPS_PHASE         lint | test | parity | benchmark | publish | report, or
#                                 torch (the action's own `torch status` / `torch provision`)
#   HTDEMUCS_DEVOPS_CONFIG_INPUT  config file (empty: <root>/.github/htdemucs-devops.yml)
#   HTDEMUCS_DEVOPS_WORKDIR       folder to run in (relative to GITHUB_WORKSPACE)
#   HTDEMUCS_DEVOPS_ARGS          extra arguments: split on whitespace, or, when the value
#                                 has several lines, one argument per non-empty line (so
#                                 an argument may contain spaces). Never glob-expanded.
#
# The phase's exit code is the step's: 0 ok, 1 the phase found a problem, 2 could not run.
set -euo pipefail

in_actions() { [[ "${GITHUB_ACTIONS:-}" == "true" || "${ACT:-}" == "true" ]]; }

die() {
  local msg=$1
  if in_actions; then
    msg=${msg//'%'/'%25'}
    msg=${msg//$'\r'/'%0D'}
    msg=${msg//$'\n'/'%0A'}
    printf '::error title=htdemucs-devops::%s\n' "$msg"
  fi
  printf 'error: %s\n' "$1" >&2
  exit 2
}

bin=${HTDEMUCS_DEVOPS_BIN:-}
[[ -n "$bin" ]] || bin=$(command -v htdemucs-devops || true)
[[ -n "$bin" && -x "$bin" ]] || die "htdemucs-devops is not installed (the install step did not run or failed)"

phase=${HTDEMUCS_DEVOPS_PHASE:-}
case "$phase" in
  lint | test | parity | benchmark | publish | report | torch) ;;
  "") die "the phase input is required: one of lint, test, parity, benchmark, publish, report" ;;
  *) die "unknown phase '$phase': use one of lint, test, parity, benchmark, publish, report" ;;
esac

argv=("$phase")
if [[ -n "${HTDEMUCS_DEVOPS_CONFIG_INPUT:-}" ]]; then
  argv+=(--config "$HTDEMUCS_DEVOPS_CONFIG_INPUT")
fi
raw=${HTDEMUCS_DEVOPS_ARGS:-}
raw=${raw%$'\n'}
if [[ "$raw" == *$'\n'* ]]; then
  while IFS= read -r line; do
    line=${line%$'\r'}
    # Trim surrounding blanks; an argument is the rest of the line, spaces included.
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [[ -n "$line" ]] && argv+=("$line")
  done <<<"$raw"
elif [[ -n "$raw" ]]; then
  read -r -a words <<<"$raw"
  argv+=(${words[@]+"${words[@]}"})
fi

workdir=${HTDEMUCS_DEVOPS_WORKDIR:-.}
if [[ "$workdir" != /* ]]; then
  workdir="${GITHUB_WORKSPACE:-$PWD}/$workdir"
fi
[[ -d "$workdir" ]] || die "working-directory $workdir is not a folder"
cd "$workdir"

# The config path is passed as a flag above; keep the variable from confusing the binary.
unset HTDEMUCS_DEVOPS_CONFIG_INPUT HTDEMUCS_DEVOPS_ARGS
exec "$bin" "${argv[@]}"
