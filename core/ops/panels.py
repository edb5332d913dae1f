"""Sections of the operations page ``/ops/`` (registered with ``core.registry.register_ops_panel``).

A panel function returns::

    {"status": "ok" | "warn" | "fail",
     "items": [{"label": str, "value": str, "status": optional}],
     "tables": [{"title": str, "columns": [str], "rows": [[str, ...]], "status": [optional per row]}],
     "note": optional str}

Every panel reuses the readers of ``db_stats``, ``redis_stats``, ``celery_status``,
``list_backups``, ``/health/ready/`` and ``manage.py doctor``; ``collect()`` runs them all
concurrently with the readiness deadline (``HEALTH_CHECK_TIMEOUT``), so one dead backend costs
the page at most that long and turns its own section red.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction

from core.doctor import FAIL, OK, WARN, default_context, run_doctor, tidy_connections, worst
from core.registry import register_ops_panel, registry

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ops")


def fmt_bytes(n) -> str:
    if n is None:
        return "-"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def fmt_age(seconds) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _pct(ratio) -> str:
    return "-" if ratio is None else f"{ratio * 100:.1f}%"


# --- the panels ----------------------------------------------------------------------------------


def components_panel() -> dict:
    """Readiness (every registered health check) plus the doctor's findings."""
    from core.health.registry import run_checks

    timeout = settings.HEALTH_CHECK_TIMEOUT
    readiness = _executor.submit(run_checks)
    findings = run_doctor(ctx=default_context(ping=False), timeout=timeout)
    _ready, components = readiness.result(timeout=timeout + 1)
    health_rows, health_status = [], []
    for name, result in components.items():
        status = OK if result["status"] == "ok" else FAIL
        health_rows.append(
            [name, result["status"], result.get("error") or f"{result.get('latency_ms', '-')} ms"]
        )
        health_status.append(status)
    doctor_rows = [[f.id, f.status, f.message, f.hint if f.status != OK else ""] for f in findings]
    return {
        "status": worst([*health_status, *(f.status for f in findings)]),
        "items": [
            {
                "label": "readiness",
                "value": "ready" if _ready else "NOT READY",
                "status": OK if _ready else FAIL,
            },
            {
                "label": "doctor",
                "value": ", ".join(
                    f"{sum(f.status == s for f in findings)} {s}" for s in (OK, WARN, FAIL)
                ),
                "status": worst(f.status for f in findings),
            },
        ],
        "tables": [
            {
                "title": "Readiness (/health/ready/)",
                "columns": ["component", "status", "details"],
                "rows": health_rows,
                "status": health_status,
            },
            {
                "title": "Doctor findings (manage.py doctor)",
                "columns": ["id", "status", "message", "fix"],
                "rows": doctor_rows,
                "status": [f.status for f in findings],
            },
        ],
    }


def postgres_panel() -> dict:
    from core.db import stats

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true)",
            [str(int(settings.HEALTH_CHECK_TIMEOUT * 1000))],
        )
        conns = stats.connections_by_state(cursor)
        totals = stats.database_totals(cursor)
        tables = stats.tables(cursor)
        replicas = stats.replication(cursor)
        slow = stats.slow_statements(cursor, limit=5)
    used = sum(conns["by_state"].values())
    largest = sorted(tables, key=lambda t: t["size_bytes"] or 0, reverse=True)[:8]
    result = {
        "status": WARN if used > 0.8 * conns["max"] else OK,
        "items": [
            {
                "label": "connections",
                "value": f"{used} / {conns['max']} ("
                + ", ".join(f"{k} {v}" for k, v in conns["by_state"].items())
                + ")",
            },
            {"label": "cache hit ratio", "value": _pct(totals["cache_hit_ratio"])},
            {"label": "database size", "value": fmt_bytes(totals["size_bytes"])},
            {
                "label": "replica lag",
                "value": ", ".join(f"{r['client']} {r['lag_seconds'] or 0:.1f} s" for r in replicas)
                or "no replicas",
            },
        ],
        "tables": [
            {
                "title": "Largest tables",
                "columns": ["table", "size", "live rows", "dead rows"],
                "rows": [
                    [t["table"], fmt_bytes(t["size_bytes"]), f"{t['live']:,}", f"{t['dead']:,}"]
                    for t in largest
                ],
            }
        ],
    }
    if slow is None:
        result["note"] = "Slowest statements: pg_stat_statements is not available here."
    else:
        result["tables"].append(
            {
                "title": "Slowest statements (pg_stat_statements, mean)",
                "columns": ["mean ms", "calls", "query"],
                "rows": [[str(s["mean_ms"]), f"{s['calls']:,}", s["query"]] for s in slow],
            }
        )
    return result


def redis_panel() -> dict:
    from core.celery_app import monitor
    from core.redis.stats import all_stats

    rows, statuses = [], []
    for s in all_stats():
        if not s.reachable:
            rows.append([s.alias, "DOWN", s.error, "-", "-", "-", "-"])
            statuses.append(FAIL)
            continue
        if s.backend != "RedisCache":
            rows.append([s.alias, "in-process", s.backend, "-", "-", "-", "-"])
            statuses.append(OK)
            continue
        rows.append(
            [
                s.alias,
                "up",
                f"{s.ping_ms} ms",
                fmt_bytes(s.used_memory)
                + (f" / {fmt_bytes(s.maxmemory)}" if s.maxmemory else " (no limit)"),
                s.maxmemory_policy,
                _pct(s.hit_ratio),
                f"{s.evicted_keys:,}" if s.evicted_keys is not None else "-",
            ]
        )
        statuses.append(OK)
    try:
        info = monitor.broker_redis().info()
    except Exception as exc:  # noqa: BLE001 - shown in the row
        rows.append(["broker", "DOWN", f"{type(exc).__name__}: {exc}"[:200], "-", "-", "-", "-"])
        statuses.append(FAIL)
    else:
        hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
        rows.append(
            [
                "broker",
                "up",
                "-",
                fmt_bytes(info.get("used_memory"))
                + (
                    f" / {fmt_bytes(info['maxmemory'])}" if info.get("maxmemory") else " (no limit)"
                ),
                info.get("maxmemory_policy", ""),
                _pct(hits / (hits + misses) if hits + misses else None),
                f"{info.get('evicted_keys', 0):,}",
            ]
        )
        statuses.append(OK)
    return {
        "status": worst(statuses),
        "items": [
            {"label": "aliases down", "value": str(statuses.count(FAIL)), "status": worst(statuses)}
        ],
        "tables": [
            {
                "title": "Per alias",
                "columns": [
                    "alias",
                    "state",
                    "ping / error",
                    "memory",
                    "policy",
                    "hit ratio",
                    "evicted",
                ],
                "rows": rows,
                "status": statuses,
            }
        ],
    }


def celery_panel() -> dict:
    from core.celery_app import monitor
    from core.outbox.dead_letters import dead_letter_summary
    from core.outbox.services import outbox_backlog

    from . import history

    status = monitor.read_status()
    if not status.broker_ok:
        return {
            "status": FAIL,
            "items": [{"label": "broker", "value": status.broker_error, "status": FAIL}],
            "tables": [],
        }
    pending, oldest = outbox_backlog()
    dead, dead_age = dead_letter_summary()
    totals = {
        state: sum(counts[state] for counts in status.tasks.values())
        for state in monitor.TASK_STATES
    }
    history.record_sample({name: d.ready for name, d in status.queues.items()}, totals)
    deltas = history.task_deltas(history.samples(), totals)
    from core.celery_app.beat import beat_lock_status

    beat_limit = settings.CELERY_BEAT_HEARTBEAT_MAX_AGE
    beat_lock = beat_lock_status()
    beat_ok = (
        status.beat_age is not None
        and status.beat_age <= beat_limit
        and len(beat_lock.dispatchers) <= 1
    )
    outbox_ok = oldest is None or oldest <= settings.OUTBOX_BACKLOG_MAX_AGE
    items = [
        {
            "label": "workers",
            "value": str(len(status.workers))
            + (f" ({', '.join(sorted(status.workers))})" if status.workers else ""),
            "status": OK if status.workers else FAIL,
        },
        {
            "label": "beat heartbeat",
            "value": fmt_age(status.beat_age)
            + (" ago" if status.beat_age is not None else "")
            + (f" (held by {beat_lock.holder})" if beat_lock.holder else "")
            + (f", {len(beat_lock.standbys)} standby" if beat_lock.standbys else "")
            + (
                f" ({len(beat_lock.dispatchers)} beats dispatch!)"
                if len(beat_lock.dispatchers) > 1
                else ""
            ),
            "status": OK if beat_ok else FAIL,
        },
        {
            "label": "outbox backlog",
            "value": f"{pending}" + (f" (oldest {fmt_age(oldest)})" if oldest is not None else ""),
            "status": OK if outbox_ok else WARN,
        },
        {
            "label": "dead letters",
            "value": f"{dead}"
            + (f" (oldest {fmt_age(dead_age)}; manage.py retry_dead_tasks)" if dead else ""),
            "status": WARN if dead else OK,
        },
        {"label": "succeeded (last hour)", "value": f"{deltas.get('succeeded', 0):,}"},
        {
            "label": "failed (last hour)",
            "value": f"{deltas.get('failed', 0):,}",
            "status": WARN if deltas.get("failed") else OK,
        },
        {"label": "retried (last hour)", "value": f"{deltas.get('retried', 0):,}"},
    ]
    return {
        "status": worst(i.get("status", OK) for i in items),
        "items": items,
        "tables": [
            {
                "title": "Queues",
                "columns": ["queue", "ready", "unacked"],
                "rows": [[n, f"{d.ready:,}", f"{d.unacked:,}"] for n, d in status.queues.items()],
            }
        ],
    }


def backups_panel() -> dict:
    from core.db.backups.manifest import backup_root, list_sets

    sets = list_sets()
    now = datetime.now(UTC)
    rows, statuses = [], []
    for s in sets[:5]:
        check = s.verification or {}
        verified = (
            "never"
            if not check
            else f"{check.get('status')} {str(check.get('verified_at', ''))[:19]}"
        )
        rows.append(
            [
                s.id,
                fmt_age((now - s.created_at).total_seconds()),
                fmt_bytes(s.size),
                verified,
                f"{check['rto_seconds']} s" if check.get("rto_seconds") is not None else "-",
            ]
        )
        statuses.append(OK if check.get("status") == "ok" else WARN if not check else FAIL)
    newest_age = (now - sets[0].created_at).total_seconds() if sets else None
    fresh = newest_age is not None and newest_age < settings.DOCTOR_BACKUP_MAX_AGE_HOURS * 3600
    return {
        "status": worst([OK if fresh else WARN, *(statuses[:1] or [WARN])]),
        "items": [
            {"label": "directory", "value": str(backup_root())},
            {
                "label": "newest set",
                "value": fmt_age(newest_age) + (" old" if newest_age is not None else ""),
                "status": OK if fresh else WARN,
            },
        ],
        "tables": [
            {
                "title": "Newest sets",
                "columns": ["id", "age", "size", "last verification", "RTO"],
                "rows": rows,
                "status": statuses,
            }
        ],
    }


def register_builtin_panels() -> None:
    register_ops_panel("components", components_panel, title="Component status", order=0)
    register_ops_panel("postgres", postgres_panel, title="PostgreSQL", order=10)
    register_ops_panel("redis", redis_panel, title="Redis", order=20)
    register_ops_panel("celery", celery_panel, title="Celery", order=30)
    register_ops_panel("backups", backups_panel, title="Backups", order=40)


# --- collecting ----------------------------------------------------------------------------------


def _run_panel(func) -> tuple[dict, float]:
    started = time.perf_counter()
    try:
        return func(), time.perf_counter() - started
    finally:
        tidy_connections()


def collect() -> list[dict]:
    """Every registered panel, concurrently, each bounded by the readiness deadline (+1 s for the
    components panel, which itself waits for readiness and the doctor)."""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    panels = sorted(registry["ops_panels"].values(), key=lambda p: (p.order, p.name))
    started = time.monotonic()
    futures = [(panel, _executor.submit(_run_panel, panel.func)) for panel in panels]
    results = []
    for panel, future in futures:
        remaining = max(0.0, timeout + 1.5 - (time.monotonic() - started))
        try:
            data, elapsed = future.result(timeout=remaining)
            data = {
                "items": [],
                **data,
                "tables": [_rows_with_status(t) for t in data.get("tables", [])],
                "elapsed_ms": round(elapsed * 1000, 1),
            }
        except FutureTimeout:
            data = _failed(f"no answer within {timeout + 1.5:g}s")
        except Exception as exc:  # noqa: BLE001 - the section shows the failure
            data = _failed(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        results.append({"name": panel.name, "title": panel.title, **data})
    return results


def _rows_with_status(table: dict) -> dict:
    """``rows`` as ``[{"cells": [...], "status": ...}]`` (the shape the page renders)."""
    statuses = table.get("status") or []
    rows = [
        {"cells": [str(c) for c in row], "status": statuses[i] if i < len(statuses) else ""}
        for i, row in enumerate(table["rows"])
    ]
    return {"title": table["title"], "columns": table["columns"], "rows": rows}


def _failed(error: str) -> dict:
    return {
        "status": FAIL,
        "items": [{"label": "error", "value": error, "status": FAIL}],
        "tables": [],
    }
