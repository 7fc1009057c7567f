#!/usr/bin/env bash
# Checks the embedded example (examples/htdemucs-mini) is what the demo and the docs say:
# its pytest suite passes, and ruff finds exactly the deliberate findings listed in its
# README, no more and no fewer. Uses the venv at $HTDEMUCS_VENV (default: .venv).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HTDEMUCS_VENV:-$root/.venv}"
example="$root/examples/htdemucs-mini"
for tool in pytest ruff; do
    if [ ! -x "$venv/bin/$tool" ]; then
        echo "example.sh: $venv/bin/$tool not found; run 'make setup' (or set HTDEMUCS_VENV)" >&2
        exit 2
    fi
done

failures=0
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" == "$3" ]; then
        echo "ok   $1"
    else
        echo "FAIL $1"
        diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/     /' || true
        failures=$((failures + 1))
    fi
}

cd "$example"
# -p no:cacheprovider: leave no .pytest_cache behind in the example.
if "$venv/bin/pytest" -q -p no:cacheprovider; then
    echo "ok   example pytest suite passes"
else
    echo "FAIL example pytest suite"
    failures=$((failures + 1))
fi

expected_lint="htdemucs_mini/cli.py:11:8: F401
htdemucs_mini/cli.py:19:5: E741
htdemucs_mini/cli.py:22:9: F541"
actual_lint="$("$venv/bin/ruff" check --no-cache --output-format concise . 2>/dev/null \
    | grep -E '^[^ ]+:[0-9]+:[0-9]+: [A-Z]+[0-9]+' | sed -E 's/^([^ ]+ [A-Z]+[0-9]+).*/\1/' | sort || true)"
check "ruff check finds exactly the deliberate findings" "$expected_lint" "$actual_lint"

expected_format="htdemucs_mini/stems.py"
actual_format="$("$venv/bin/ruff" format --no-cache --check . 2>&1 \
    | sed -nE -e 's/^Would reformat: (.*)$/\1/p' -e 's/^ *--> ([^:]+):[0-9]+:[0-9]+$/\1/p' \
    | sort -u || true)"
check "ruff format --check flags exactly the deliberate file" "$expected_format" "$actual_format"

if [ "$failures" -ne 0 ]; then
    echo "example.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "example.sh: all checks passed"
