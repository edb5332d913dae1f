# ERP Core — the two set-up commands are `make run` and `make test`.
# Every install step lives here so a clean clone works on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
MANAGE := $(BIN)/python manage.py

# Dev defaults for the targets that work on the dev database; anything given in the environment
# wins (and a .env file never overrides it). `make test` uses config.settings.test and its own
# database (TEST_DATABASE_URL), whatever the shell exports for development.
DEV_TARGETS := run provision migrate demo check-migrations
$(DEV_TARGETS): export DJANGO_SETTINGS_MODULE ?= config.settings.dev
$(DEV_TARGETS): export DATABASE_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
$(DEV_TARGETS): export DATABASE_OWNER_URL ?= postgres://erp_owner:erp_owner_dev@127.0.0.1:5432/erp_dev
$(DEV_TARGETS): export DATABASE_URL ?= postgres://erp_app:erp_app_dev@127.0.0.1:5432/erp_dev

.PHONY: install install-dev install-runtime run provision migrate demo test lint check-migrations services clean \
	bench bench-api bench-audit bench-cache bench-backup bench-concurrent-index bench-files bench-celery bench-orders bench-pagination bench-ops bench-tail bench-startup bench-observability bench-browsable bench-db-scale bench-failover chaos

$(BIN)/uv:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Two installs, each re-synced only when the lock changes (its own stamp): `make run` and the
# other dev-database targets need the runtime dependencies only (install-runtime: uv sync
# --no-dev); `make test`, `make lint` and the benchmarks add the dev group (install). --inexact:
# neither removes what the other installed, so a dev sync also satisfies the runtime stamp.
# --compile-bytecode: .pyc files at install time, so a start never compiles site-packages (with
# PYTHONDONTWRITEBYTECODE set, as on these machines, every start did: manage.py help 53 -> 24 s
# under load, bench/startup.py).
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

$(VENV)/.synced-runtime: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --inexact --no-dev --compile-bytecode --python $(BIN)/python
	touch $@

$(VENV)/.synced-dev: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --inexact --compile-bytecode --python $(BIN)/python
	touch $@ $(VENV)/.synced-runtime

install-runtime: $(VENV)/.synced-runtime

install: $(VENV)/.synced-dev

install-dev: install

services: ## start PostgreSQL/Redis when they are installed locally but not running
	@bash scripts/ensure_services.sh

provision: install-runtime services
	$(MANAGE) provision_db

# migrate connects as DATABASE_OWNER_URL's role by itself (core/db/owner.py); no URL (and so no
# password) appears on the command line make echoes.
migrate: provision
	$(MANAGE) migrate --no-input

demo: migrate
	$(MANAGE) seed_demo

# web + worker + beat under supervisord in the foreground (config/supervisord.conf): a crashed
# process is restarted and logged; Ctrl-C stops everything. docs/celery.md#supervision.
run: export ERP_RUN_DIR ?= $(CURDIR)/.run
run: demo
	$(MANAGE) collectstatic --no-input -v 0
	mkdir -p "$$ERP_RUN_DIR"
	$(BIN)/supervisord -n -c config/supervisord.conf

# The migration safety gate (docs/migrations.md). sqlmigrate needs a connection but reads and
# writes nothing: the administrative URL's maintenance database always exists.
check-migrations: install-runtime
	DATABASE_URL="$$DATABASE_ADMIN_URL" $(MANAGE) check_migrations $(GATE_ARGS)

# The PgBouncer pass (issue 10): the API and order tests once more through a private PgBouncer in
# transaction mode with DB_PGBOUNCER=true (core/testing/pgbouncer.py; skipped, saying why, where
# pgbouncer isn't installed).
PGBOUNCER_TESTS := $(sort $(wildcard api/v1/*/*/tests/test_api.py)) api/v1/sales/orders/tests

test: install services check-migrations
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest -n auto --dist loadgroup
	@echo "PgBouncer pass: API and order tests through PgBouncer (transaction mode, DB_PGBOUNCER=true)"
	DJANGO_SETTINGS_MODULE=config.settings.test DB_PGBOUNCER=true $(BIN)/pytest -n auto \
		--dist loadgroup --pgbouncer $(PGBOUNCER_TESTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # layer contracts in pyproject.toml (docs/modules.md)

bench: install services
	$(BIN)/python -m bench

bench-api: install services ## foundation API: scoped list/detail/orders vs a bare DRF list
	$(BIN)/python -m bench.api

bench-cache: install services ## response cache hit vs a trivial view, uncached, Redis down; authz cost
	$(BIN)/python -m bench.cache

bench-backup: install services
	$(BIN)/python -m bench.backup

bench-concurrent-index: install services
	$(BIN)/python -m bench.concurrent_index
bench-files: install services ## 200 MB upload/download through the API vs a file copy (docs/storage.md)
	$(BIN)/python -m bench.files

bench-celery: install services
	$(BIN)/python -m bench.celery

bench-ops: install services ## /ops/ server time: all up, cache Redis hung, cache Redis down
	$(BIN)/python -m bench.ops

# Fault injection on the whole stack (docs/operations.md#make-chaos); on demand, not in `make test`.
# Its own PostgreSQL cluster, Sentinel group and SMTP server: needs none of `services`.
# CHAOS_ARGS=--quick for short outages (~4 min), e.g. `make chaos CHAOS_ARGS=--quick`.
chaos: install
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache


bench-audit: install services ## audit log on vs off: product updates and order placement (target <= +15%)
	$(BIN)/python -m bench.audit

bench-orders: install services ## orders/s and p50/p99, 1 and 10 organizations, next to pgbench tpcb-like
	$(BIN)/python -m bench.orders

bench-pagination: install services ## list page 1 at 10k vs 1M rows, cursor deep page, GIN filter
	$(BIN)/python -m bench.pagination

bench-startup: install ## manage.py help vs bare django-admin help (target < 1.5 s), slowest imports
	$(BIN)/python -m bench.startup

bench-observability: install services ## request metrics on vs off: products-list throughput (issue 12)
	$(BIN)/python -m bench.observability

bench-browsable: install services ## browsable API on vs off: JSON products-list throughput (issue 12)
	$(BIN)/python -m bench.browsable

bench-tail: install services ## tail latency at -c64/-c256 (p99 vs p50) and the -w x -c scaling curve
	$(BIN)/python -m bench.tail

bench-failover: install ## failover downtime: seconds without a successful write, primary killed + standby promoted
	$(BIN)/python -m bench.failover

bench-db-scale: install services ## products list: primary vs + 1 replica; list/orders via PgBouncer vs direct at -c64/-c256
	$(BIN)/python -m bench.db_scale
