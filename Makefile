# Two commands for a newcomer: `make reports` and `make test`. Only python3.11, make and the
# package index are assumed; everything else is installed into .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export UV_COMPILE_BYTECODE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: reports reports-1e7 test lab venv clean-outputs bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

reports: $(STAMP)
	$(BIN)/python -m toolkit run --config config/reports.yaml

# The same notebooks, unchanged, on the demo company at 700,000 customers (~1e7 transaction rows,
# generated into outputs/demo_1e7 on first use): ~23 min and up to ~10 GB per report on 2 cores.
reports-1e7: $(STAMP)
	$(BIN)/python -m toolkit run --config config/reports.yaml --dataset config/datasets/demo_1e7.yaml \
		--output-dir outputs/scale_runs

# pytest exits 5 when it collected no tests: that is a broken setup, never a pass. The suite runs on
# every core (at most 4) with pytest-xdist; a test module (a class for the data-shape groups) is one
# unit of work, so module fixtures are built once.
test: $(STAMP)
	@$(BIN)/python -m pytest tests --nbval-lax notebooks -n auto --maxprocesses 4 --dist loadscope; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests - the test setup is broken" >&2; exit 1; fi; \
	exit $$rc

# Edit the reports in JupyterLab: the notebooks are the single source; save, then `make reports`.
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=.

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_clv.py

clean-outputs:
	rm -rf outputs
