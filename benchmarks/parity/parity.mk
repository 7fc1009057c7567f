# Parity targets, included by the Makefile (uses its BIN, WITH_VENV, build and setup).

PARITY_OUT ?= .htdemucs-devops

.PHONY: parity-report bench-parity

parity-report: build models ## Parity of the example (PyTorch vs its float16 conversion, via the stage runner), HTML report and site
	$(WITH_VENV) $(BIN) parity run --root $(EXAMPLE) --out-dir $(PARITY_OUT)
	$(WITH_VENV) $(BIN) publish --root $(EXAMPLE) --out-dir $(PARITY_OUT) --site-dir $(abspath $(PARITY_OUT))/site
	@echo "parity-report: open $(PARITY_OUT)/parity.html (the site: $(PARITY_OUT)/site/index.html)"

bench-parity: build setup ## Time parity on two 384 MiB captures vs cat and numpy (files in /tmp)
	$(WITH_VENV) benchmarks/parity/bench.sh
