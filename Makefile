# Winnow: `make run` starts the app on the embedded default; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system-packages test-system-packages services migrate admin demo run lint format test bench bench-scale clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps -r requirements-nodeps.txt
	touch $(STAMP)

# Real images for the demo dataset come from Debian packages (installed where apt exists).
system-packages:
	@scripts/system_packages.sh tuxpaint-stamps-default mate-backgrounds

test-system-packages:
	@scripts/system_packages.sh tuxpaint-stamps-default mate-backgrounds chromium

services:
	@scripts/services.sh

migrate: install
	$(MANAGE) migrate --noinput -v 0

admin: migrate
	$(MANAGE) ensure_admin

demo: migrate system-packages
	$(MANAGE) build_demo_dataset --if-missing --seed 0

run: install system-packages migrate admin demo
	@scripts/run.sh $(HOST) $(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint --lint $$(find . -path ./.venv -prune -o -path ./var -prune -o -type d -name templates -print) --quiet
	DJANGO_SETTINGS_MODULE=config.settings.local WINNOW_VAR_DIR=$$(mktemp -d) $(MANAGE) makemigrations --check --dry-run
	$(VENV)/bin/mypy core jobs curation robustness explain frontend config
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install test-system-packages services lint
	$(VENV)/bin/pytest tests

# The quick benchmarks (each a few minutes at most, on a temporary SQLite database).
bench: install
	$(PY) bench/import_bench.py
	$(PY) bench/embed_bench.py
	$(PY) bench/train_bench.py
	$(PY) bench/cam_bench.py
	$(PY) bench/corruption_bench.py
	$(PY) bench/generate_bench.py
	$(PY) bench/export_bench.py
	$(PY) bench/instances_bench.py

# The 1M-row targets of docs/ARCHITECTURE.md §11, on PostgreSQL (database BENCH_DB, created and migrated here).
BENCH_DB ?= winnow_bench
BENCH_URL := postgres://postgres@127.0.0.1:5432/$(BENCH_DB)
bench-scale: install services
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(BENCH_DB)'" | grep -q 1 \
	  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $(BENCH_DB)"
	DATABASE_URL=$(BENCH_URL) $(MANAGE) migrate --noinput -v 0
	DATABASE_URL=$(BENCH_URL) $(PY) bench/prune_db_bench.py
	DATABASE_URL=$(BENCH_URL) $(PY) bench/delete_bench.py
	$(PY) bench/duplicates_bench.py
	DATABASE_URL=$(BENCH_URL) $(PY) bench/review_load.py
	DATABASE_URL=$(BENCH_URL) $(PY) bench/grid_load.py

clean:
	rm -rf var/test-media var/broker
