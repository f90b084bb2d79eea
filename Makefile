# The two commands a newcomer needs: `make demo` and `make test`.
# Every target bootstraps .venv itself.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: help venv demo dev test lint format bench bench-profile bench-plan bench-dagster bench-api clean

help:
	@echo "make demo   - build the sample warehouse and profile it"
	@echo "make dev    - the Dagster UI with Baselinr's assets, job and sensor"
	@echo "make test   - run the whole suite (starts a throwaway PostgreSQL)"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - benchmarks (prints ratios)"
	@echo "make bench-profile - whole-process profile vs psql reference, 1M rows (about an hour)"
	@echo "make bench-plan    - incremental planning / partial profiling benchmark only"
	@echo "make bench-dagster - definitions load time and sensor tick benchmark only"
	@echo "make bench-api     - the REST API under load on 100,000 runs (about 10 minutes)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

dev: $(STAMP)
	mkdir -p .dagster_home && cp dagster.yaml .dagster_home/dagster.yaml
	test -f demo/warehouse.db || $(BIN)/baselinr demo --dir demo
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python bench/profile_bench.py --sizes 1Mx10,1Mx40 --modes exact,approx
	$(BIN)/python bench/drift_bench.py
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/dagster_bench.py

bench-profile: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python bench/profile_bench.py --sizes 1Mx10,1Mx40,1Mx200 $(BENCH_ARGS)

bench-plan: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python bench/plan_bench.py

bench-dagster: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python bench/dagster_bench.py

bench-api: $(STAMP)
	scripts/ensure-postgres.sh
	$(BIN)/python bench/api_bench.py

clean:
	rm -rf $(VENV) demo .dagster_home .pytest_cache .mypy_cache .ruff_cache *.egg-info
