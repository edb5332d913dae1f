"""``manage.py doctor`` rules of the audit log (section postgres).

- ``postgres.audit_triggers``: every audited table carries the trigger (``migrate`` installs
  them); off (``AUDIT_LOG_ENABLED=false``) is reported too.
- ``postgres.audit_retention``: records older than ``AUDIT_RETENTION_DAYS`` + 7 days mean
  ``prune_audit_log`` is not scheduled.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.doctor import FAIL, OK, WARN, Finding

from .triggers import TRIGGERED_TABLES_SQL, audited_models

DOC = "docs/operations.md#audit-log-retention"


def check_audit_log(ctx):
    expected = {model._meta.db_table for model, _ in audited_models()}
    with connection.cursor() as cursor:
        cursor.execute(TRIGGERED_TABLES_SQL)
        present = {table for _, table in cursor.fetchall()}
        cursor.execute("SELECT min(created_at) FROM audit_record")
        (oldest,) = cursor.fetchone()
    missing = sorted(expected - present)
    if not settings.AUDIT_LOG_ENABLED:
        yield Finding(
            "postgres.audit_triggers",
            ctx.rule(False),
            "AUDIT_LOG_ENABLED is off: changes are not recorded",
            f"Set AUDIT_LOG_ENABLED=true and run migrate: {DOC}",
        )
    elif missing:
        yield Finding(
            "postgres.audit_triggers",
            FAIL,
            f"{len(missing)} audited table(s) without the audit trigger: {', '.join(missing)}",
            f"Run migrate as the owner role (it installs the triggers): {DOC}",
        )
    else:
        yield Finding("postgres.audit_triggers", OK, f"{len(expected)} tables audited")
    due = timezone.now() - timedelta(days=settings.AUDIT_RETENTION_DAYS + 7)
    if oldest is not None and oldest < due:
        yield Finding(
            "postgres.audit_retention",
            WARN,
            f"audit records from {oldest:%Y-%m-%d} are older than AUDIT_RETENTION_DAYS "
            f"({settings.AUDIT_RETENTION_DAYS}) + 7 days: prune_audit_log is not running",
            f"Schedule prune_audit_log as the owner role: {DOC}",
        )
    else:
        yield Finding("postgres.audit_retention", OK, "no record past the retention period")
