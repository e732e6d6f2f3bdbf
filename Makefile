# Two set-up commands: `make run` (install + the workflow on the embedded data) and
# `make test` (install + the test suite). Everything installs into .venv from PyPI.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin

.PHONY: install run test lint dry-run bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

dry-run: install
	$(BIN)/snakemake -n --cores $(CORES)

# Speed benchmarks (benchmarks/README.md): writes results/benchmarks/bench.json and prints a
# table. `make bench BENCH_ARGS=--quick` for a fast check. PyTorch reference rows need
# `$(BIN)/pip install -r benchmarks/requirements.txt` (not a runtime dependency).
bench: install
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf results
