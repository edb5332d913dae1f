"""Prometheus collector for PostgreSQL (registered by CoreConfig.ready()): computed at scrape time
from the server's statistics views, so every gunicorn process reports the same numbers."""

from __future__ import annotations

import logging

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.registry import register_metrics_collector

from . import stats

logger = logging.getLogger(__name__)


def _gauge(name, doc, labels=(), rows=()):
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for label_values, value in rows:
        if value is not None:
            family.add_metric(list(label_values), float(value))
    return family


class PostgresCollector:
    def collect(self):
        try:
            data = stats.collect()
        except Exception:  # a scrape must not 500 because one query failed
            logger.exception("PostgreSQL statistics unavailable")
            yield _gauge("erp_db_up", "1 if the database statistics could be read", rows=[((), 0)])
            return
        yield _gauge("erp_db_up", "1 if the database statistics could be read", rows=[((), 1)])
        conns = data["connections"]
        yield _gauge(
            "erp_db_connections",
            "Client connections by state",
            ["state"],
            [((state,), n) for state, n in conns["by_state"].items()],
        )
        yield _gauge("erp_db_max_connections", "max_connections", rows=[((), conns["max"])])
        db = data["database"]
        for key, doc in (("commits", "Committed transactions"), ("rollbacks", "Rolled back")):
            family = CounterMetricFamily(f"erp_db_xact_{key}", doc)
            family.add_metric([], db[key])
            yield family
        yield _gauge(
            "erp_db_cache_hit_ratio", "Buffer cache hit ratio", rows=[((), db["cache_hit_ratio"])]
        )
        yield _gauge("erp_db_size_bytes", "Database size", rows=[((), db["size_bytes"])])
        tables = data["tables"]
        yield _gauge(
            "erp_db_table_dead_tuples",
            "Dead tuples per table",
            ["table"],
            [((t["table"],), t["dead"]) for t in tables],
        )
        yield _gauge(
            "erp_db_table_bloat_bytes",
            "Estimated table bloat",
            ["table"],
            [((t["table"],), t["bloat_bytes"]) for t in tables],
        )
        for column in ("last_vacuum", "last_autovacuum", "last_analyze", "last_autoanalyze"):
            yield _gauge(
                f"erp_db_table_{column}_timestamp",
                f"{column} (unix time)",
                ["table"],
                [((t["table"],), t[column].timestamp()) for t in tables if t[column]],
            )
        yield _gauge(
            "erp_db_index_bloat_bytes",
            "Estimated B-tree index bloat",
            ["index"],
            [((i["index"],), i["bloat_bytes"]) for i in data["index_bloat"]],
        )
        yield _gauge(
            "erp_db_unused_indexes",
            "Never-scanned non-unique indexes",
            rows=[((), len(data["unused_indexes"]))],
        )
        yield _gauge(
            "erp_db_duplicate_indexes",
            "Groups of identical indexes",
            rows=[((), len(data["duplicate_indexes"]))],
        )
        oldest = data["oldest_transaction"]
        yield _gauge(
            "erp_db_oldest_transaction_seconds",
            "Age of the oldest open transaction",
            rows=[((), oldest["age_seconds"] if oldest else 0)],
        )
        yield _gauge(
            "erp_db_waiting_locks",
            "Lock requests not granted",
            rows=[((), len(data["waiting_locks"]))],
        )
        yield _gauge(
            "erp_db_replication_lag_seconds",
            "Replication lag per standby (or of this replica)",
            ["client"],
            [((r["client"] or "unknown",), r["lag_seconds"]) for r in data["replication"]],
        )
        wrap = data["wraparound"]
        yield _gauge(
            "erp_db_xid_age",
            "Transaction-ID age per database, age(datfrozenxid); wraparound at ~2.1e9",
            ["database"],
            [((d["database"],), d["xid_age"]) for d in wrap["databases"]],
        )
        yield _gauge(
            "erp_db_table_xid_age",
            "Transaction-ID age of this database's oldest tables, age(relfrozenxid)",
            ["table"],
            [((t["table"],), t["xid_age"]) for t in wrap["oldest_tables"]],
        )
        yield _gauge(
            "erp_db_xid_age_warn",
            "DATABASE_XID_AGE_WARN: readiness is degraded above this age",
            rows=[((), wrap["warn_at"])],
        )
        yield _gauge(
            "erp_db_autovacuum_enabled",
            "1 if autovacuum (and the track_counts it needs) is on",
            rows=[((), 1 if wrap["autovacuum"]["enabled"] else 0)],
        )
        if data["slow_statements"] is not None:
            yield _gauge(
                "erp_db_statement_mean_seconds",
                "Slowest statements by mean time (pg_stat_statements)",
                ["queryid"],
                [((s["queryid"],), float(s["mean_ms"]) / 1000) for s in data["slow_statements"]],
            )


register_metrics_collector("postgres", PostgresCollector())
