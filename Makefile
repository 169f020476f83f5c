# One command per chore. Each target sets up what it needs (a local virtual environment in .venv).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak fmt clean wrk

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up, create a demo tenant with a key, devices and employees, and serve on 127.0.0.1:8080
run: $(STAMP)
	$(BIN)/punchlog demo

## lint: ruff, ruff format --check, mypy (strict on src/), import-linter layer contracts
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## test: lint, then the whole suite on SQLite and PostgreSQL (a throwaway server is started if none runs);
## wrk (Debian's package) is installed if missing, for the smoke run of the ingestion benchmark
test: lint wrk
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

## bench: the benchmarks (ingestion under wrk; a full-month attendance recompute for 10,000
## employees); never part of make test. wrk comes from Debian's packages.
bench: $(STAMP) wrk
	$(BIN)/python -m bench

## soak: the crash test at length (SIGKILL the real server under load SOAK_KILLS times, 25, per
## database; every acknowledged log stored exactly once) and the schema fuzz with 200 cases per
## operation (SCHEMA_FUZZ_EXAMPLES, 200). Not part of make test, which runs both briefly.
soak: $(STAMP)
	SOAK_KILLS=$${SOAK_KILLS:-25} $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/e2e/test_crash.py
	SCHEMA_FUZZ_EXAMPLES=$${SCHEMA_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest -q -p no:cacheprovider tests/api/test_schema_fuzz.py

wrk:
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache punchlog.db punchlog.db-*
