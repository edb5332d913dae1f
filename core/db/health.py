"""Readiness: transaction-ID wraparound and autovacuum (``database_vacuum``, non-critical).

Degraded (200, never 503: the database still serves) when the oldest ``age(datfrozenxid)`` of
the cluster passes ``DATABASE_XID_AGE_WARN`` (default 1.2 billion; PostgreSQL stops accepting
writes near 2.1 billion). Whether autovacuum runs is reported (``autovacuum``) but does not
degrade readiness by itself: with it off, anti-wraparound vacuums still start at
``autovacuum_freeze_max_age``, and ``manage.py doctor`` flags it (``postgres.autovacuum``).
A few catalog queries per probe.
"""

from __future__ import annotations

from django.db import connection

from core.health.registry import Degraded, register

from . import stats


@register("database_vacuum")
def database_vacuum() -> dict:
    with connection.cursor() as cursor:
        wrap = stats.wraparound(cursor, tables_limit=3)
    details = {
        "xid_age": {d["database"]: d["xid_age"] for d in wrap["databases"]},
        "oldest_tables": {t["table"]: t["xid_age"] for t in wrap["oldest_tables"]},
        "autovacuum": wrap["autovacuum"]["enabled"],
        "xid_age_warn": wrap["warn_at"],
    }
    problems = []
    if wrap["over_warn"]:
        oldest = wrap["databases"][0]
        problems.append(
            f"transaction-ID age {oldest['xid_age']:,} of database {oldest['database']} is above "
            f"DATABASE_XID_AGE_WARN {wrap['warn_at']:,}: VACUUM (FREEZE) its oldest tables"
        )
    if problems:
        raise Degraded("; ".join(problems), details)
    return details
