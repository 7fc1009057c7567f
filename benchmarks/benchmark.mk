# Benchmark targets, included from the Makefile. `make help` lists them.
CARGO ?= cargo
BENCH_EXAMPLE := examples/htdemucs-mini/benchmarks
# `make benchmark-compare CURRENT=run.json [BASELINE=...] [FORMAT=markdown] [WINDOW=1]`
BASELINE ?= $(BENCH_EXAMPLE)/sample-baseline.json
CURRENT ?= $(BENCH_EXAMPLE)/recorded-run.json
FORMAT ?= text
WINDOW ?=

.PHONY: benchmark benchmark-compare bench

benchmark: build models ## Measure the example with the stage runner and print the CoreML-vs-PyTorch style table
	$(WITH_VENV) $(BIN) benchmark run --root $(EXAMPLE)

benchmark-compare: ## Compare CURRENT=<results.json> with BASELINE (WINDOW=1: the last entry only)
	$(CARGO) run --quiet -- benchmark compare --baseline $(BASELINE) --current $(CURRENT) \
		--format $(FORMAT) $(if $(WINDOW),--window $(WINDOW))

bench: ## Benchmarks: the regression rule's noise simulation (vs github-action-benchmark), site rendering, parser scaling
	$(CARGO) bench --profile dev --bench noise -- $(ARGS)
	$(CARGO) bench --profile dev --bench site_render
	$(CARGO) bench --profile dev --bench parse_scaling

# The real HTDemucs (examples/htdemucs, 4 sources, float32 `pytorch` backend) after
# `make demo-htdemucs SOURCES=4`: each stage timed by the runner against Python over
# interleaved rounds on one 7.8 s segment, then each stage against a plain C++ libtorch loop
# on one thread, then parity on the demo's 30 s captures against `cat`.
HTDEMUCS_DEMO_OUT := .htdemucs-devops/demo-htdemucs
HTDEMUCS_ROUNDS ?= 4

.PHONY: bench-htdemucs
bench-htdemucs: build ## The real HTDemucs: runner vs Python and vs native libtorch per stage, parity on 30 s vs cat (after demo-htdemucs SOURCES=4)
	@ref=$$(ls $(HTDEMUCS_DEMO_OUT)/parity-run/0-*/reference.npz 2>/dev/null | head -1); \
	if [ -z "$$ref" ]; then echo "bench-htdemucs: run make demo-htdemucs SOURCES=4 first (it writes the 30 s captures)" >&2; exit 2; fi
	$(WITH_VENV) EXAMPLE=$(HTDEMUCS) EXPORT_ARGS="--sources 4" MODE=isolated AUDIO_SECONDS=7.8 \
		REPEAT=3 WARMUP=1 ROUNDS=$(HTDEMUCS_ROUNDS) PYTHON=python bash benchmarks/runner_overhead.sh
	for stage in stft separate istft; do \
		$(WITH_VENV) EXAMPLE=$(HTDEMUCS) STAGE=$$stage AUDIO_SECONDS=7.8 REPEAT=3 WARMUP=1 \
			ROUNDS=$(HTDEMUCS_ROUNDS) THP=1 PYTHON=python bash benchmarks/native/compare.sh; \
	done
	dir=$$(dirname $$(ls $(HTDEMUCS_DEMO_OUT)/parity-run/0-*/reference.npz | head -1)); \
	$(WITH_VENV) REFERENCE=$$dir/reference.npz CANDIDATE=$$dir/candidate-chained.npz \
		PARITY_ARGS="--root $(HTDEMUCS)" RUNS=3 PYTHON=python BENCH_DIR=$$(mktemp -d) \
		bash benchmarks/parity/bench.sh
