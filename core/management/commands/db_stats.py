"""``manage.py db_stats``: PostgreSQL health at a glance (the same numbers as /metrics)."""

from django.core.management.base import BaseCommand

from core.db import stats


def _fmt_bytes(n) -> str:
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}TiB"


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


class Command(BaseCommand):
    help = "Show connections, throughput, cache hit ratio, vacuum state, indexes, locks, lag."

    def add_arguments(self, parser):
        parser.add_argument("--tables", type=int, default=15, help="rows per table section")

    def handle(self, *args, tables, **options):
        data = stats.collect()
        out, style = self.stdout.write, self.style
        conns, db = data["connections"], data["database"]
        used = sum(conns["by_state"].values())
        out(style.MIGRATE_HEADING("Database"))
        out(
            f"  size {_fmt_bytes(db['size_bytes'])}, commits {db['commits']:,}, "
            f"rollbacks {db['rollbacks']:,}, deadlocks {db['deadlocks']}"
        )
        ratio = db["cache_hit_ratio"]
        out(f"  buffer cache hit ratio {ratio:.2%}" if ratio is not None else "  cache: no reads")
        states = ", ".join(f"{k} {v}" for k, v in conns["by_state"].items())
        out(f"  connections {used}/{conns['max']} ({states})")

        out(style.MIGRATE_HEADING("Tables (dead tuples, vacuum/analyze, estimated bloat)"))
        out(f"  {'TABLE':<32} {'LIVE':>10} {'DEAD':>8} {'BLOAT':>9}  LAST (AUTO)VACUUM / ANALYZE")
        for t in data["tables"][:tables]:
            vacuum = max(filter(None, [t["last_vacuum"], t["last_autovacuum"]]), default=None)
            analyze = max(filter(None, [t["last_analyze"], t["last_autoanalyze"]]), default=None)
            out(
                f"  {t['table']:<32} {t['live']:>10,} {t['dead']:>8,} "
                f"{_fmt_bytes(t['bloat_bytes']):>9}  {_when(vacuum)} / {_when(analyze)}"
            )

        out(style.MIGRATE_HEADING("Indexes"))
        for i in data["index_bloat"][:tables]:
            if i["bloat_bytes"]:
                out(
                    f"  bloat ~{_fmt_bytes(i['bloat_bytes'])} of {_fmt_bytes(i['size_bytes'])}: "
                    f"{i['index']}"
                )
        for i in data["unused_indexes"][:tables]:
            out(f"  unused ({_fmt_bytes(i['size_bytes'])}): {i['index']} on {i['table']}")
        for d in data["duplicate_indexes"]:
            out(style.WARNING(f"  duplicates on {d['table']}: {', '.join(d['indexes'])}"))

        out(style.MIGRATE_HEADING("Activity"))
        oldest = data["oldest_transaction"]
        if oldest:
            out(
                f"  oldest transaction {oldest['age_seconds']:.1f}s (pid {oldest['pid']}, "
                f"{oldest['state']}): {oldest['query']}"
            )
        else:
            out("  no open transaction")
        for lock in data["waiting_locks"]:
            out(
                style.WARNING(
                    f"  pid {lock['pid']} waits {lock['waiting_seconds']:.1f}s for {lock['mode']} on "
                    f"{lock['relation'] or lock['locktype']}, blocked by {lock['blocked_by']}"
                )
            )
        if not data["waiting_locks"]:
            out("  no waiting locks")
        for r in data["replication"]:
            out(f"  replication {r['client']}: lag {r['lag_seconds'] or 0:.1f}s")
        if not data["replication"]:
            out("  no replicas")

        wrap = data["wraparound"]
        out(style.MIGRATE_HEADING("Transaction-ID wraparound (vacuum freeze)"))
        av = wrap["autovacuum"]
        if av["enabled"]:
            out(f"  autovacuum on (autovacuum_freeze_max_age {av['freeze_max_age']:,})")
        else:
            off = "autovacuum" if not av["autovacuum"] else "track_counts"
            out(
                style.ERROR(
                    f"  autovacuum is NOT running ({off} = off): turn it on, see docs/database.md"
                )
            )
        for d in wrap["databases"]:
            line = f"  database {d['database']:<28} xid age {d['xid_age']:>13,}"
            out(style.WARNING(line) if d["xid_age"] > wrap["warn_at"] else line)
        for t in wrap["oldest_tables"]:
            out(
                f"  table    {t['table']:<28} xid age {t['xid_age']:>13,}  {_fmt_bytes(t['size_bytes'])}"
            )
        if wrap["over_warn"]:
            out(
                style.WARNING(
                    f"  oldest age {wrap['max_xid_age']:,} is above DATABASE_XID_AGE_WARN "
                    f"{wrap['warn_at']:,} (wraparound ~2.1 billion): VACUUM (FREEZE) the oldest "
                    "tables and find what holds autovacuum back (docs/database.md)"
                )
            )

        out(style.MIGRATE_HEADING("Slowest statements (pg_stat_statements)"))
        if data["slow_statements"] is None:
            out("  pg_stat_statements is not installed here: see docs/backups.md, Monitoring.")
        for s in data["slow_statements"] or []:
            out(f"  {s['mean_ms']:>10} ms x{s['calls']:<8} {s['query']}")
