# Two commands set everything up on a fresh machine:
#   make run   - venv, install, demo data into SQLite, compute, serve on http://127.0.0.1:8000
#   make test  - venv (if needed), install with dev extras, ruff + mypy, the docstring examples and the whole
#                pytest suite (which fails if it changed `git status`)
#   make screenshots - refresh the README's pictures in docs/ from the served demo (on purpose, never in tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO := var/demo
export HOTSPOTS_DATABASE_URL ?= sqlite:///var/hotspots.db

.PHONY: run test install demo lint bench clean screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@if command -v npm >/dev/null && [ -f tests/tiles/js/package-lock.json ]; then \
		npm ci --prefix tests/tiles/js --no-audit --no-fund --silent; fi
	touch $(STAMP)

install: $(STAMP)

$(DEMO)/reports.csv: | $(STAMP)
	$(VENV)/bin/hotspots demo-data --out $(DEMO)

demo: $(DEMO)/reports.csv
	$(VENV)/bin/hotspots import $(DEMO)/reports.csv
	$(VENV)/bin/hotspots status

run: demo
	$(VENV)/bin/hotspots compute
	$(VENV)/bin/hotspots demo-logins
	$(VENV)/bin/hotspots secret-key var/secret.key
	HOTSPOTS_SECRET_KEY_FILE=var/secret.key $(VENV)/bin/hotspots serve --host 127.0.0.1 --port 8000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy hotspots api maps

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy hotspots api maps
	$(VENV)/bin/pytest -q -p no:cacheprovider --doctest-modules hotspots maps api --ignore=hotspots/migrations
	$(VENV)/bin/pytest -n 2 --timeout 600

screenshots: install
	$(PY) scripts/screenshots.py --out docs

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/stats.py
	$(PY) bench/tiles.py
	$(PY) bench/api_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
