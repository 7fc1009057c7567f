# Parity targets, included by the Makefile (uses its BIN, WITH_VENV, build and setup).

PARITY_EXAMPLE := tests/fixtures/parity/example
PARITY_OUT ?= .htdemucs-devops

.PHONY: parity-report bench-parity

parity-report: build ## Write the HTML parity report of the embedded example to .htdemucs-devops/parity.html
	$(BIN) parity --config $(PARITY_EXAMPLE)/htdemucs-devops.yml \
		--reference $(PARITY_EXAMPLE)/reference.npz \
		--candidate $(PARITY_EXAMPLE)/candidate.npz \
		--out-dir $(PARITY_OUT)
	@echo "parity-report: open $(PARITY_OUT)/parity.html"

bench-parity: build setup ## Time parity on two 384 MiB captures vs cat and numpy (files in /tmp)
	$(WITH_VENV) benchmarks/parity/bench.sh
