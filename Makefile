# Two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test time-shift lint typecheck unit slow services bench bench-drift clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Audience needs Python >= 3.11; run e.g. 'make PYTHON=python3.11 demo'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.python-ok
	$(BIN)/pip install --quiet -e '.[ui]'
	touch $@

# gbstats (GrowthBook's engine, which the experiment tests compare with) pins pandas<2 and
# numpy<2 in its metadata though its statistics run on both: installed without its pins.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,deep,spark]'
	$(BIN)/pip install --quiet --no-deps 'gbstats==0.8.0'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/audience demo --out demo-workspace

# Tests marked `faults` stop or restart a service the others share (RabbitMQ...): they run
# alone, one at a time, after the parallel part. pytest exits 5 when a marker selects no test;
# for the faults part that is not a failure. Coverage is measured over both parts.
# Then the activation and real-time suites run again with the clock moved years ahead and
# behind (time-machine), so that no test passes only on the day it runs.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -m "not faults" --cov=audience --cov-report=
	$(BIN)/pytest -n 0 -p no:randomly -m faults --cov=audience --cov-append --cov-report= \
	  || test $$? -eq 5
	$(BIN)/coverage report --format=total | sed 's/^/coverage of src\/audience: /; s/$$/%/'
	$(MAKE) --no-print-directory time-shift

TIME_SHIFT_SUITES := tests/activation tests/realtime
time-shift: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 -q -m "not slow and not faults" $(TIME_SHIFT_SUITES) --clock-offset-days 1461
	$(BIN)/pytest -n 2 -q -m "not slow and not faults" $(TIME_SHIFT_SUITES) --clock-offset-days -1461

# Pieces of `make test`, for day-to-day work.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/lint-imports
unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 -m "not slow"
slow: $(VENV)/.installed-dev
	$(BIN)/pytest -m slow

# Every benchmark at its issue's scale (about an hour on 2 cores; see README, Performance).
bench: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/batch_pipeline.py --reuse
	$(BIN)/python bench/clean.py --reuse
	$(BIN)/python bench/normalise.py
	$(BIN)/python bench/model_selection.py
	$(BIN)/python bench/clv.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/wide_import.py
	$(MAKE) --no-print-directory bench-drift
	$(BIN)/python bench/faults.py  # restarts RabbitMQ: nothing else may use it meanwhile

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache

# Drift against Evidently (bench/drift.py). Evidently 0.7 does not import with pandas 3, the
# project's: it gets a venv of its own with the pins of the drift-bench extra.
EVIDENTLY_VENV := .venv-evidently
$(EVIDENTLY_VENV)/.installed:
	$(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_VENV)/bin/python -m pip install --quiet 'evidently==0.7.23' 'pandas>=2.2,<3'
	touch $@

bench-drift: $(VENV)/.installed $(EVIDENTLY_VENV)/.installed
	$(BIN)/python bench/drift.py --evidently-python $(EVIDENTLY_VENV)/bin/python
