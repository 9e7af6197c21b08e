# Everyday commands. `make run` and `make test` set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum setup.cfg | cut -d' ' -f1)

.PHONY: venv run lint test test-fast openapi fuzz lock image image-test bench-credentials bench-inprocess bench soak bench-tools db-stop clean

$(STAMP): setup.cfg
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## Serve on http://127.0.0.1:$${PORT:-8000}: an embedded PostgreSQL with demo data when DATABASE_URL is unset.
run: $(STAMP)
	$(BIN)/python scripts/dev_server.py

## ruff (pyproject.toml): pycodestyle, pyflakes, import order, bugbear, complexity. CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .

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

## Renew requirements.lock: every runtime dependency of setup.cfg pinned with its hashes, for any
## Python 3.11 and platform (uv's universal resolution), from PyPI alone.
lock: $(STAMP)
	env -u PIP_FIND_LINKS UV_NO_CONFIG=1 $(BIN)/uv pip compile setup.cfg --universal --python-version 3.11 \
	    --generate-hashes --index-url https://pypi.org/simple --custom-compile-command "make lock" \
	    --quiet --output-file requirements.lock

## Build the container image with podman (a local stand-in for python:3.11-slim when the real one is absent).
image:
	bash scripts/image.sh build

## Run the built image's own command as its own user, root filesystem read-only, against a real PostgreSQL.
image-test: image $(STAMP)
	$(BIN)/python scripts/image_test.py

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
