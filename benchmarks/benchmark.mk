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
