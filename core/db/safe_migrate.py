"""Deploy-time migrations (``manage.py safe_migrate``).

Shows the plan; when ``SAFE_MIGRATE_BACKUP`` is on (prod) takes and verifies a backup first and
refuses to continue if that fails; applies migrations one at a time with the session's
``lock_timeout`` / ``statement_timeout`` from settings; retries a migration that hit the lock
timeout with exponential backoff when a retry is safe: an atomic migration (it was rolled back)
or a non-atomic one that declares ``safe_to_retry = True`` (each of its steps is idempotent);
logs each migration's duration.

Why a short lock_timeout: an ALTER TABLE waiting for its ACCESS EXCLUSIVE lock queues every later
query on that table behind it. Failing fast and retrying keeps the application responsive.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger("core.db.safe_migrate")

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


class MigrationFailed(Exception):
    pass


@dataclass
class Applied:
    label: str
    seconds: float
    attempts: int


def pending_plan(database: str = DEFAULT_DB_ALIAS):
    executor = MigrationExecutor(connections[database])
    targets = executor.loader.graph.leaf_nodes()
    return [migration for migration, backwards in executor.migration_plan(targets)]


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None)


def _set_timeouts(database: str) -> None:
    with connections[database].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, false)", [settings.MIGRATION_LOCK_TIMEOUT]
        )
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false)",
            [settings.MIGRATION_STATEMENT_TIMEOUT],
        )


def apply_with_retries(
    migration, *, database: str = DEFAULT_DB_ALIAS, say: Callable[[str], None] = print
) -> Applied:
    label = f"{migration.app_label}.{migration.name}"
    retries = settings.MIGRATION_LOCK_RETRIES
    for attempt in range(1, retries + 2):
        _set_timeouts(database)
        started = time.monotonic()
        try:
            call_command(
                "migrate",
                migration.app_label,
                migration.name,
                database=database,
                interactive=False,
                verbosity=0,
            )
        except OperationalError as exc:
            state = _sqlstate(exc)
            retryable = migration.atomic or getattr(migration, "safe_to_retry", False)
            if state == LOCK_NOT_AVAILABLE and retryable and attempt <= retries:
                delay = settings.MIGRATION_RETRY_BACKOFF * 2 ** (attempt - 1)
                say(
                    f"  lock timeout ({settings.MIGRATION_LOCK_TIMEOUT}) on {label}, attempt "
                    f"{attempt}: rolled back, retrying in {delay:.1f}s"
                )
                logger.warning("lock timeout on %s (attempt %s)", label, attempt)
                time.sleep(delay)
                continue
            if state == LOCK_NOT_AVAILABLE:
                hint = (
                    f"gave up after {attempt} attempt(s): find the blocking session "
                    "(db_stats shows waiting locks and the oldest transaction) and re-run."
                    if retryable
                    else "it is non-atomic and not marked safe_to_retry, so it is not retried: "
                    "check for an INVALID index it may have left (\\d table), drop it, re-run."
                )
            elif state == QUERY_CANCELED:
                hint = (
                    f"statement_timeout ({settings.MIGRATION_STATEMENT_TIMEOUT}) hit: the "
                    "operation is too slow for a deploy; split it or raise "
                    "MIGRATION_STATEMENT_TIMEOUT for this run."
                )
            else:
                hint = "see the error above."
            raise MigrationFailed(f"{label} failed: {exc}. {hint}") from exc
        except Exception as exc:
            raise MigrationFailed(f"{label} failed: {exc}") from exc
        seconds = time.monotonic() - started
        logger.info("applied %s in %.3fs (attempt %s)", label, seconds, attempt)
        return Applied(label, seconds, attempt)
    raise AssertionError("unreachable")
