"""PostgreSQL health numbers for ``manage.py db_stats`` and ``/metrics`` (docs/backups.md,
"Monitoring"). Every function runs catalog/statistics queries on the given cursor; none of this
runs in ``/health/ready/``. Sizes come from ``pg_class.relpages`` (as of the last VACUUM/ANALYZE)
rather than ``pg_relation_size()``, which takes a lock and would hang behind the very ACCESS
EXCLUSIVE lock an operator is trying to diagnose.

The application role can read all of it except other roles' query texts and
``pg_stat_statements`` of other roles: grant it ``pg_read_all_stats`` (or ``pg_monitor``) in
production for complete numbers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection, transaction

STATEMENT_TIMEOUT_MS = 5000  # a scrape must never hang
LOCK_TIMEOUT_MS = 500


def _rows(cursor, query: str, params=None) -> list[dict]:
    cursor.execute(query, params)
    names = [c.name for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def connections_by_state(cursor) -> dict:
    rows = _rows(
        cursor,
        "SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' GROUP BY 1 ORDER BY 1",
    )
    cursor.execute("SHOW max_connections")
    return {"by_state": {r["state"]: r["n"] for r in rows}, "max": int(cursor.fetchone()[0])}


def database_totals(cursor) -> dict:
    (row,) = _rows(
        cursor,
        "SELECT xact_commit AS commits, xact_rollback AS rollbacks, blks_hit, blks_read, "
        "deadlocks, pg_database_size(datname) AS size_bytes "
        "FROM pg_stat_database WHERE datname = current_database()",
    )
    total = row["blks_hit"] + row["blks_read"]
    row["cache_hit_ratio"] = round(row["blks_hit"] / total, 4) if total else None
    return row


def tables(cursor) -> list[dict]:
    """Per table: live/dead tuples, last (auto)vacuum/analyze, size and estimated bloat
    (dead-tuple share of the heap; exact numbers need the pgstattuple extension)."""
    return _rows(
        cursor,
        """
        SELECT s.relname AS table, s.n_live_tup AS live, s.n_dead_tup AS dead,
               s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
               c.relpages::bigint * current_setting('block_size')::int AS size_bytes,
               CASE WHEN s.n_live_tup + s.n_dead_tup > 0
                    THEN (c.relpages::bigint * current_setting('block_size')::int * s.n_dead_tup
                          / (s.n_live_tup + s.n_dead_tup))::bigint
                    ELSE 0 END AS bloat_bytes
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        ORDER BY s.n_dead_tup DESC, s.relname
        """,
    )


def index_bloat(cursor) -> list[dict]:
    """Estimated B-tree bloat: actual pages versus pages needed for reltuples entries of the
    average key width (from pg_stats) at the default 90% fillfactor."""
    return _rows(
        cursor,
        """
        WITH idx AS (
            SELECT c.relname AS index, t.relname AS table, c.relpages, c.reltuples,
                   current_setting('block_size')::int AS bs,
                   (SELECT coalesce(sum(s.avg_width), 8) FROM pg_attribute a
                      JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname
                                     AND s.attname = a.attname
                     WHERE a.attrelid = t.oid AND a.attnum = ANY (i.indkey)) AS key_width
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
            WHERE n.nspname = 'public'
        )
        SELECT index, "table", relpages::bigint * bs AS size_bytes,
               greatest(relpages - ceil(reltuples * (key_width + 16) / (bs * 0.9)) - 1, 0)::bigint
                   * bs AS bloat_bytes
        FROM idx ORDER BY bloat_bytes DESC, index
        """,
    )


def unused_indexes(cursor) -> list[dict]:
    """Never scanned since statistics were reset; primary keys and unique indexes excluded
    (they enforce constraints even when nobody reads through them)."""
    return _rows(
        cursor,
        """
        SELECT s.indexrelname AS index, s.relname AS table,
               c.relpages::bigint * current_setting('block_size')::int AS size_bytes
        FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
        JOIN pg_class c ON c.oid = s.indexrelid
        WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
        ORDER BY size_bytes DESC, index
        """,
    )


def duplicate_indexes(cursor) -> list[dict]:
    """Indexes with the same table, columns, operator classes, expressions and predicate."""
    return _rows(
        cursor,
        """
        SELECT indrelid::regclass::text AS table,
               array_agg(indexrelid::regclass::text ORDER BY indexrelid::regclass::text)
                   AS indexes
        FROM pg_index
        WHERE indrelid::regclass::text NOT LIKE 'pg_%%'
        GROUP BY indrelid, indkey::text, indclass::text, coalesce(indexprs::text, ''),
                 coalesce(indpred::text, '')
        HAVING count(*) > 1
        ORDER BY 1
        """,
    )


def oldest_transaction(cursor) -> dict | None:
    rows = _rows(
        cursor,
        """
        SELECT pid, usename AS role, state,
               extract(epoch FROM now() - xact_start)::float AS age_seconds,
               left(query, 120) AS query
        FROM pg_stat_activity
        WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
              AND backend_type = 'client backend' AND datname = current_database()
        ORDER BY xact_start LIMIT 1
        """,
    )
    return rows[0] if rows else None


def waiting_locks(cursor) -> list[dict]:
    return _rows(
        cursor,
        """
        SELECT a.pid, pg_blocking_pids(a.pid) AS blocked_by, l.mode, l.locktype,
               l.relation::regclass::text AS relation,
               extract(epoch FROM now() - a.query_start)::float AS waiting_seconds,
               left(a.query, 120) AS query
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = current_database() ORDER BY a.query_start
        """,
    )


def replication(cursor) -> list[dict]:
    """Lag per standby (on a primary) or this standby's replay delay (on a replica)."""
    cursor.execute("SELECT pg_is_in_recovery()")
    if cursor.fetchone()[0]:
        return _rows(
            cursor,
            "SELECT 'self' AS client, extract(epoch FROM now() - "
            "pg_last_xact_replay_timestamp())::float AS lag_seconds",
        )
    return _rows(
        cursor,
        "SELECT coalesce(application_name, client_addr::text) AS client, state, "
        "extract(epoch FROM coalesce(replay_lag, '0'))::float AS lag_seconds "
        "FROM pg_stat_replication ORDER BY 1",
    )


def transaction_id_age(cursor) -> dict:
    """Transaction-ID age of the oldest database of the cluster (``age(datfrozenxid)``) and of
    this database: wraparound is at about 2^31; autovacuum freezes from
    ``autovacuum_freeze_max_age`` on."""
    (row,) = _rows(
        cursor,
        "SELECT max(age(datfrozenxid))::bigint AS cluster_max, "
        "max(age(datfrozenxid)) FILTER (WHERE datname = current_database())::bigint AS current, "
        "current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age "
        "FROM pg_database",
    )
    return row


def xid_age_by_database(cursor) -> list[dict]:
    """``age(datfrozenxid)`` of every database of the cluster (templates too: wraparound is
    cluster-wide), oldest first."""
    return _rows(
        cursor,
        "SELECT datname AS database, age(datfrozenxid)::bigint AS xid_age, "
        "mxid_age(datminmxid)::bigint AS mxid_age FROM pg_database ORDER BY 2 DESC, 1",
    )


def oldest_tables(cursor, limit: int = 5) -> list[dict]:
    """This database's tables with the oldest ``relfrozenxid`` (their TOAST table counted):
    the ones a ``VACUUM (FREEZE)`` must reach first. System catalogs included."""
    return _rows(
        cursor,
        """
        SELECT c.oid::regclass::text AS table,
               greatest(age(c.relfrozenxid), age(t.relfrozenxid))::bigint AS xid_age,
               c.relpages::bigint * current_setting('block_size')::int AS size_bytes
        FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE c.relkind IN ('r', 'm')
        ORDER BY 2 DESC, 1 LIMIT %s
        """,
        [limit],
    )


def autovacuum_settings(cursor) -> dict:
    """Is autovacuum running at all? It needs ``track_counts`` too (without statistics it
    never picks a table, though ``autovacuum`` says on); anti-wraparound vacuums still run."""
    (row,) = _rows(
        cursor,
        "SELECT current_setting('autovacuum') = 'on' AS autovacuum, "
        "current_setting('track_counts') = 'on' AS track_counts, "
        "current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age",
    )
    row["enabled"] = row["autovacuum"] and row["track_counts"]
    return row


def wraparound(cursor, tables_limit: int = 5) -> dict:
    """Transaction-ID wraparound health: per-database ages, the oldest tables, autovacuum,
    and whether the oldest age has passed ``DATABASE_XID_AGE_WARN`` (readiness degrades then)."""
    databases = xid_age_by_database(cursor)
    warn_at = settings.DATABASE_XID_AGE_WARN
    oldest = max((d["xid_age"] for d in databases), default=0)
    return {
        "databases": databases,
        "oldest_tables": oldest_tables(cursor, tables_limit),
        "autovacuum": autovacuum_settings(cursor),
        "max_xid_age": oldest,
        "warn_at": warn_at,
        "over_warn": oldest > warn_at,
    }


def slow_statements(cursor, limit: int = 10) -> list[dict] | None:
    """Top statements by mean time from pg_stat_statements; None if the extension is not
    installed in this database (docs/backups.md says how to enable it)."""
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if cursor.fetchone() is None:
        return None
    # Installed but not in shared_preload_libraries: the view raises. Don't fail the rest.
    cursor.execute("SAVEPOINT erp_stat_statements")
    try:
        rows = _rows(
            cursor,
            """
        SELECT queryid::text AS queryid, calls, round(mean_exec_time::numeric, 3) AS mean_ms,
               round(total_exec_time::numeric, 1) AS total_ms, left(query, 120) AS query
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database
                                              WHERE datname = current_database())
        ORDER BY mean_exec_time DESC LIMIT %s
        """,
            [limit],
        )
    except DatabaseError:
        cursor.execute("ROLLBACK TO SAVEPOINT erp_stat_statements")
        return None
    cursor.execute("RELEASE SAVEPOINT erp_stat_statements")
    return rows


def collect(using=None) -> dict:
    """Everything above, in one short read-only transaction with a statement timeout."""
    conn = using or connection
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true)", [str(STATEMENT_TIMEOUT_MS)]
        )
        return {
            "connections": connections_by_state(cursor),
            "database": database_totals(cursor),
            "tables": tables(cursor),
            "index_bloat": index_bloat(cursor),
            "unused_indexes": unused_indexes(cursor),
            "duplicate_indexes": duplicate_indexes(cursor),
            "oldest_transaction": oldest_transaction(cursor),
            "waiting_locks": waiting_locks(cursor),
            "replication": replication(cursor),
            "wraparound": wraparound(cursor),
            "slow_statements": slow_statements(cursor),
        }
