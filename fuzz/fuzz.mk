# Fuzzing targets, included from the Makefile. `make help` lists them.
#
# The targets in fuzz/fuzz_targets are libFuzzer programs (libfuzzer-sys). They are built
# here the way `cargo fuzz build -s none` builds them, with SanitizerCoverage enabled
# through flags that stable Rust accepts, so no nightly toolchain and no cargo-fuzz
# install is needed (`cargo fuzz run <target>` works as well where it is installed).
# Each run starts from the committed seed corpus (fuzz/corpus/<target>, real fixtures)
# and the kept regressions (tests/fuzz/<target>); new inputs go to fuzz/work/ (ignored).
# A crash, timeout or out-of-memory input is written to fuzz/artifacts/<target>/: fix
# it, then copy it to tests/fuzz/<target>/ so `cargo test` replays it from then on.

FUZZ_SECONDS ?= 60
# Seconds per target under `make test` (CI): enough to replay the corpus and mutate it.
FUZZ_CI_SECONDS ?= 10
FUZZ_TARGETS := junit lint config_yaml pipeline_yaml baseline bench_input phase_report npy npz wav
FUZZ_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_BIN = fuzz/target/$(FUZZ_TRIPLE)/release
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
	-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
	-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
	--cfg fuzzing
# A parser that takes a second on an input of at most 64 KiB is a bug, as is 2 GiB.
FUZZ_FLAGS := -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1

.PHONY: fuzz fuzz-build test-fuzz

fuzz-build: ## Build the fuzz targets (stable Rust, SanitizerCoverage, libFuzzer)
	cd fuzz && RUSTFLAGS="$(FUZZ_RUSTFLAGS)" $(CARGO) build --release --bins \
		--target $(FUZZ_TRIPLE)

fuzz: fuzz-build ## Fuzz every parser for FUZZ_SECONDS each (default 60); finds land in fuzz/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/work/$$t fuzz/artifacts/$$t tests/fuzz/$$t; \
		echo "==> fuzz $$t for $(FUZZ_SECONDS) s"; \
		if ! $(FUZZ_BIN)/$$t $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=fuzz/artifacts/$$t/ \
			fuzz/work/$$t fuzz/corpus/$$t tests/fuzz/$$t 2> fuzz/work/$$t.log; then \
			tail -n 40 fuzz/work/$$t.log >&2; \
			echo "fuzz $$t failed: the input is in fuzz/artifacts/$$t/; fix the parser, then copy it to tests/fuzz/$$t/" >&2; \
			exit 1; \
		fi; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' fuzz/work/$$t.log | tr '\n' ' '; echo; \
	done

test-fuzz: ## Fuzz every parser briefly (FUZZ_CI_SECONDS each), as `make test` does
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_CI_SECONDS)
