"""Migrations on a scratch database of the real PostgreSQL: every app to zero and back, the
order-number backfill, and safe_migrate (lock-timeout retries, backup-first refusal)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings

from core.db import server
from core.testing.postgres import manage, manage_env

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("scratch-migrate")]


# Every app to zero in one process (dependents are unapplied first by Django).
TO_ZERO = """
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

for label in sorted({app for app, _ in MigrationRecorder(connection).applied_migrations()}):
    call_command("migrate", label, "zero", interactive=False, verbosity=0)
"""


def _sql(dbname: str, query: str, params=None):
    with server.admin_endpoint().connect(dbname) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else None


def _applied(dbname: str) -> set[str]:
    rows = _sql(dbname, "SELECT app || '.' || name FROM django_migrations")
    return {row[0] for row in rows}


@pytest.fixture
def db_at_orders_0003(scratch_db):
    """A scratch database migrated up to the nullable order number, with orders of two orgs."""
    name = scratch_db()
    server.create_database(name)
    manage(name, "migrate", "orders", "0003", "--no-input")
    _sql(
        name,
        "INSERT INTO organizations_organization (created_at, updated_at, name, slug) "
        "VALUES (now(), now(), 'A', 'a'), (now(), now(), 'B', 'b')",
    )
    _sql(
        name,
        "INSERT INTO orders_order (created_at, updated_at, status, total, metadata, organization_id)"
        " SELECT now(), now(), 'placed', 1, '{}', o.id FROM organizations_organization o,"
        " generate_series(1, 3) ORDER BY random()",
    )
    return name


def test_backfill_then_every_app_to_zero_and_back(db_at_orders_0003):
    name = db_at_orders_0003
    manage(name, "migrate", "--no-input")
    numbers = _sql(
        name,
        "SELECT organization_id, array_agg(number ORDER BY id) FROM orders_order GROUP BY 1",
    )
    assert [row[1] for row in numbers] == [[1, 2, 3], [1, 2, 3]]
    counters = _sql(name, "SELECT last_number FROM orders_ordernumbercounter ORDER BY 1")
    assert counters == [(3,), (3,)]
    nullable = _sql(
        name,
        "SELECT is_nullable FROM information_schema.columns "
        "WHERE table_name = 'orders_order' AND column_name = 'number'",
    )
    assert nullable == [("NO",)]

    # Reverse the orders app past the backfill: numbers go away again, rows stay.
    manage(name, "migrate", "orders", "0003", "--no-input")
    assert _sql(name, "SELECT count(*), count(number) FROM orders_order") == [(6, 0)]

    # Every app to zero (dependents are unapplied first), then all the way up again.
    manage(name, "shell", "-c", TO_ZERO)
    assert _applied(name) == set()
    leftover = _sql(
        name,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'django_migrations'",
    )
    assert leftover == []
    manage(name, "migrate", "--no-input")
    assert "orders.0006_order_number_unique" in _applied(name)
    check = manage(name, "migrate", "--check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_safe_migrate_retries_after_lock_timeout(db_at_orders_0003):
    name = db_at_orders_0003
    with server.admin_endpoint().connect(name, autocommit=False) as holder:
        # ACCESS SHARE blocks the ALTER TABLE of 0005 (ACCESS EXCLUSIVE) until we commit; 0005 is
        # non-atomic but declares safe_to_retry (idempotent steps), so it is retried.
        holder.execute("LOCK TABLE orders_order IN ACCESS SHARE MODE")
        process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "safe_migrate"],
            env=manage_env(
                name,
                MIGRATION_LOCK_TIMEOUT="100ms",
                MIGRATION_RETRY_BACKOFF="0.05",
                MIGRATION_LOCK_RETRIES="50",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "lock timeout" in line:
                break
        holder.commit()  # release: the next attempt gets the lock
    rest, _ = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "lock timeout (100ms) on orders." in output and "retrying" in output
    assert "attempts" in output
    assert "applied orders.0006_order_number_unique" in output
    assert "orders.0006_order_number_unique" in _applied(name)


def test_safe_migrate_refuses_when_the_backup_fails(db_at_orders_0003, tmp_path):
    name = db_at_orders_0003

    def safe_migrate(margin: int):
        return manage(
            name,
            "safe_migrate",
            check=False,
            SAFE_MIGRATE_BACKUP="true",
            BACKUP_DIR=str(tmp_path / "backups"),
            BACKUP_FREE_SPACE_MARGIN_BYTES=str(margin),
        )

    result = safe_migrate(10**18)  # "disk full"
    assert result.returncode != 0
    assert "refusing to migrate" in result.stderr and "Not enough free space" in result.stderr
    assert "orders.0004_backfill_order_number" not in _applied(name)
    # With a working backup it proceeds, and the set is verified.
    result = safe_migrate(0)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verified" in result.stdout
    assert "orders.0006_order_number_unique" in _applied(name)
