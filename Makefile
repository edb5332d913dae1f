# ERP Core — the two set-up commands are `make run` and `make test`.
# Every install step lives here so a clean clone works on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
MANAGE := $(BIN)/python manage.py

# Dev defaults; anything given in the environment wins (and a .env file never overrides it).
export DJANGO_SETTINGS_MODULE ?= config.settings.dev
export DATABASE_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export DATABASE_OWNER_URL ?= postgres://erp_owner:erp_owner_dev@127.0.0.1:5432/erp_dev
export DATABASE_URL ?= postgres://erp_app:erp_app_dev@127.0.0.1:5432/erp_dev

.PHONY: install run serve provision migrate demo test lint check-migrations bench bench-celery services clean

$(BIN)/uv:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-sync only when the lock changes.
$(VENV)/.synced: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --inexact --python $(BIN)/python
	touch $@

install: $(VENV)/.synced

services: ## start PostgreSQL/Redis when they are installed locally but not running
	@bash scripts/ensure_services.sh

provision: install services
	$(MANAGE) provision_db

migrate: provision
	DATABASE_URL="$(DATABASE_OWNER_URL)" $(MANAGE) migrate --no-input

demo: migrate
	$(MANAGE) seed_demo

run: demo
	$(MANAGE) collectstatic --no-input -v 0
	$(BIN)/honcho start -f Procfile

test: install
	$(BIN)/pytest -n auto --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench

bench-celery: install services
	$(BIN)/python -m bench.celery

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
