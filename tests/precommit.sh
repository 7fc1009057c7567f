#!/usr/bin/env bash
# Proves the repository's pre-commit hooks do their job: in a throwaway git repository
# with our .pre-commit-config.yaml installed, bad commits are refused by the hook that
# should refuse them, and clean ones go through. The Rust hooks must not fire on
# non-Rust files.
#
# Uses pre-commit from the venv at $HTDEMUCS_VENV (default: .venv). The hooks' own
# environments are built from PyPI into ~/.cache/pre-commit on first use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HTDEMUCS_VENV:-$root/.venv}"
pre_commit="$venv/bin/pre-commit"
if [ ! -x "$pre_commit" ]; then
    echo "precommit.sh: $pre_commit not found; run 'make setup' (or set HTDEMUCS_VENV)" >&2
    exit 2
fi
for tool in git cargo; do
    if ! command -v "$tool" >/dev/null; then
        echo "precommit.sh: $tool not found on PATH" >&2
        exit 2
    fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
log="$work/commit.log"

# A hermetic git: no user or system config (a global core.hooksPath would make
# `pre-commit install` refuse, a global commit.gpgsign would need a key).
export GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL="$work/gitconfig"
export PRE_COMMIT_COLOR=never
# Keep cargo's output for the throwaway crate inside the throwaway repo.
export CARGO_TARGET_DIR="$repo/target"

git init -q -b main "$repo"
cd "$repo"
git config user.name "precommit test"
git config user.email "precommit-test@example.invalid"
printf 'target/\n' >.gitignore
cp "$root/.pre-commit-config.yaml" .

failures=0
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    sed 's/^/     | /' "$log"
    failures=$((failures + 1))
}

# attempt MESSAGE PATH...: stage the paths and try to commit; the output goes to $log.
attempt() {
    local message="$1"
    shift
    git add -- "$@"
    git commit -q -m "$message" >"$log" 2>&1
}

# expect_refused HOOK_NAME DESCRIPTION PATH...: the commit fails and HOOK_NAME is the
# hook that reported the failure. Unstages the paths afterwards.
expect_refused() {
    local hook="$1" what="$2"
    shift 2
    if attempt "$what" "$@"; then
        fail "$what: the commit was accepted"
    elif grep -Eq "^$hook\.*Failed" "$log"; then
        pass "$what: refused by '$hook'"
    else
        fail "$what: refused, but not by '$hook'"
    fi
    git reset -q -- "$@"
}

# expect_accepted DESCRIPTION PATH...: the commit succeeds.
expect_accepted() {
    local what="$1"
    shift
    if attempt "$what" "$@"; then
        pass "$what: accepted"
    else
        fail "$what: refused"
    fi
}

"$pre_commit" install >"$log" 2>&1 || {
    fail "pre-commit install"
    exit 1
}
if [ -x .git/hooks/pre-commit ]; then pass "pre-commit install wrote .git/hooks/pre-commit"; else
    fail "pre-commit install wrote no hook"
fi

# The configuration itself is YAML, so this also runs check-yaml on a valid file.
expect_accepted "commit the hook configuration" .pre-commit-config.yaml .gitignore

# Trailing whitespace: refused, and the fixer strips it so the retry goes through.
printf 'a line with trailing spaces   \nand a tab\t\n' >whitespace.txt
expect_refused "trim trailing whitespace" "a text file with trailing whitespace" whitespace.txt
if grep -q '[[:blank:]]$' whitespace.txt; then
    echo "FAIL the trailing whitespace was not removed"
    failures=$((failures + 1))
fi
expect_accepted "the same file once the hook has fixed it" whitespace.txt

# A clean text file goes through, and the Rust hooks are skipped for it.
printf 'nothing wrong here\n' >clean.txt
expect_accepted "a clean text file" clean.txt
if grep -Eq '^rustfmt\.*\(no files to check\)Skipped' "$log" &&
    grep -Eq '^clippy\.*\(no files to check\)Skipped' "$log"; then
    pass "rustfmt and clippy are skipped for non-Rust files"
else
    fail "rustfmt and clippy should be skipped for non-Rust files"
fi

printf 'no final newline' >no-newline.txt
expect_refused "fix end of files" "a text file without a final newline" no-newline.txt

printf 'key: [1, 2\n' >broken.yml
expect_refused "check yaml" "a YAML file that does not parse" broken.yml

head -c 600000 /dev/urandom >weights.bin
expect_refused "check for added large files" "a 600 KB file (limit 500 KB)" weights.bin
rm -f weights.bin

# Rust: a crate whose formatting is off is refused by rustfmt; formatted but with a
# clippy warning it is refused by clippy; clean, it goes through.
mkdir -p src
printf '[package]\nname = "hooktest"\nversion = "0.1.0"\nedition = "2021"\n' >Cargo.toml
printf 'fn main() {\n    let v = vec![1, 2];\n    println!("{}", v.len() == 0);\n}\n' >src/main.rs
cargo generate-lockfile -q --offline 2>/dev/null || cargo generate-lockfile -q
printf 'fn main(){println!("hi");}\n' >src/main.rs
expect_refused "rustfmt" "a badly formatted Rust file" Cargo.toml Cargo.lock src/main.rs
printf 'fn main() {\n    let v = vec![1, 2];\n    println!("{}", v.len() == 0);\n}\n' >src/main.rs
expect_refused "clippy" "Rust code with a clippy warning" Cargo.toml Cargo.lock src/main.rs
printf 'fn main() {\n    let args: Vec<String> = std::env::args().collect();\n    println!("{}", args.is_empty());\n}\n' >src/main.rs
expect_accepted "clean Rust code" Cargo.toml Cargo.lock src/main.rs

if [ "$failures" -ne 0 ]; then
    echo "precommit.sh: $failures check(s) failed" >&2
    exit 1
fi
echo "precommit.sh: all checks passed"
