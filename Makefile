# Two commands set everything up on a fresh machine:
#   make run   - venv, runtime dependencies only, demo data (and its measures) into SQLite, compute, serve
#                on http://127.0.0.1:8000 (bench/first_run.py measures it from a fresh clone)
#   make test  - venv (if needed), install with dev extras (and the tile-decoder's npm packages), ruff +
#                mypy, the docstring examples and the whole pytest suite (which fails if it changed `git status`)
#   make screenshots - refresh the README's pictures in docs/ from the served demo (on purpose, never in tests)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp
DEMO := var/demo
PORT ?= 8000
export HOTSPOTS_DATABASE_URL ?= sqlite:///var/hotspots.db

.PHONY: run test install install-dev demo lint bench clean screenshots

$(PY):
	$(PYTHON) -m venv $(VENV)

# Runtime only: what `make run` needs. Dev extras and npm come with `make test` ($(DEV_STAMP)).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@if command -v npm >/dev/null && [ -f tests/tiles/js/package-lock.json ]; then \
		npm ci --prefix tests/tiles/js --no-audit --no-fund --silent; fi
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

$(DEMO)/reports.csv: | $(STAMP)
	$(VENV)/bin/hotspots demo-data --out $(DEMO)

demo: $(DEMO)/reports.csv
	$(VENV)/bin/hotspots import $(DEMO)/reports.csv
	$(VENV)/bin/hotspots demo-measures $(DEMO)/truth.json
	$(VENV)/bin/hotspots status

run: demo
	$(VENV)/bin/hotspots compute
	$(VENV)/bin/hotspots demo-logins
	$(VENV)/bin/hotspots secret-key var/secret.key
	HOTSPOTS_SECRET_KEY_FILE=var/secret.key $(VENV)/bin/hotspots serve --host 127.0.0.1 --port $(PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy hotspots api maps

test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy hotspots api maps
	$(VENV)/bin/pytest -q -p no:cacheprovider --doctest-modules hotspots maps api --ignore=hotspots/store/migrations
	$(VENV)/bin/pytest -n 2 --timeout 600

screenshots: install-dev
	$(PY) scripts/screenshots.py --out docs

bench: install-dev
	$(PY) bench/ingest.py
	$(PY) bench/stats.py
	$(PY) bench/tiles.py
	$(PY) bench/reselection.py
	$(PY) bench/api_load.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
