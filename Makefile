# Everyday commands. `make run` and `make test` set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum setup.cfg | cut -d' ' -f1)

.PHONY: venv run test test-fast openapi fuzz bench-credentials bench-inprocess bench soak bench-tools db-stop clean

$(STAMP): setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## Serve on http://127.0.0.1:$${PORT:-8000}: an embedded PostgreSQL with demo data when DATABASE_URL is unset.
run: $(STAMP)
	$(BIN)/python scripts/dev_server.py

## Every test, on TEST_DATABASE_URL's server or an embedded PostgreSQL.
test: $(STAMP)
	$(BIN)/python -m pytest

## Skip the slow tests (process start-up, concurrency).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m 'not slow'

## Regenerate web/openapi.json from the request and response schemas (a test checks it is current).
openapi: $(STAMP)
	$(BIN)/python -m web.openapi --write

## Fuzz the production gunicorn command against web/openapi.json (schemathesis, >= 10,000 requests; .fuzz/).
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py --max-examples 400 --min-requests 10000

bench-credentials: $(STAMP)
	$(BIN)/python scripts/bench_credentials.py

## CPU per request of the app alone (WSGI called in-process under gevent): the steady measure for code changes.
bench-inprocess: $(STAMP)
	$(BIN)/python bench/inprocess.py

## Stop the embedded PostgreSQL servers of `make run` and `make test`.
db-stop:
	-$(BIN)/python scripts/dev_server.py --stop-db

clean: db-stop
	rm -rf .dev .pytest_cache

## The load benchmark (about 8 minutes): seeds a fresh database, serves it with gunicorn, measures.
bench: $(STAMP) bench-tools
	$(BIN)/python bench/run.py

## A 10-minute soak at 16 connections after a short benchmark, with worker PSS sampled.
soak: $(STAMP) bench-tools
	$(BIN)/python bench/run.py --levels 16 --seconds 20 --soak 600

bench-tools:
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@command -v pgbench >/dev/null || (apt-get update -qq && apt-get install -y -qq postgresql-client)
