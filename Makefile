# Two commands for a newcomer: `make reports` and `make test`. Only python3.11, make and the
# package index are assumed; everything else is installed into .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export UV_COMPILE_BYTECODE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: reports test venv clean-outputs bench

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

reports: $(STAMP)
	$(BIN)/python -m toolkit run --config config/reports.yaml

# pytest exits 5 when it collected no tests: that is a broken setup, never a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest tests --nbval-lax notebooks; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests - the test setup is broken" >&2; exit 1; fi; \
	exit $$rc

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_clv.py

clean-outputs:
	rm -rf outputs
