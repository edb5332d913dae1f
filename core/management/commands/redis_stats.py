"""Print, per cache alias, what /health/ready/ and /metrics report about Redis.

Exits non-zero (CommandError) when an alias's Redis is unreachable, naming what to check.
"""

from django.core.management.base import BaseCommand, CommandError

from core.redis.stats import all_stats, database_users

COLUMNS = [
    ("alias", "alias", 14),
    ("db", "db", 3),
    ("reachable", "up", 4),
    ("ping_ms", "ping ms", 8),
    ("used_memory", "used mem", 10),
    ("maxmemory", "maxmem", 10),
    ("maxmemory_policy", "policy", 14),
    ("connected_clients", "clients", 7),
    ("ops_per_sec", "ops/s", 6),
    ("keyspace_hits", "hits", 9),
    ("keyspace_misses", "misses", 9),
    ("hit_ratio", "hit %", 6),
    ("evicted_keys", "evicted", 8),
    ("expired_keys", "expired", 8),
]


def _fmt(name, value) -> str:
    if value is None or value == "":
        return "-"
    if name == "reachable":
        return "yes" if value else "NO"
    if name == "hit_ratio":
        return f"{value * 100:.1f}"
    if name in ("used_memory", "maxmemory"):
        return _bytes(value)
    return str(value)


def _bytes(value: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return str(value)


class Command(BaseCommand):
    help = __doc__

    def _broker(self) -> None:
        """The broker's Redis (not a cache alias): reachable, and settings that lose tasks."""
        from core.celery_app import monitor

        status = monitor.read_status()
        if not status.broker_ok:
            self.stdout.write(self.style.ERROR(f"broker: unreachable ({status.broker_error})"))
            return
        self.stdout.write(
            f"broker: appendonly {'yes' if status.broker_appendonly else 'no'}, "
            f"maxmemory-policy {status.broker_maxmemory_policy}"
        )
        for warning in status.broker_warnings:
            self.stdout.write(self.style.WARNING(f"WARNING: {warning}: docs/caching.md"))

    def _keys(self, stats) -> None:
        """Keys per database, once per Redis server (not repeated under every alias that shares
        it), each database labelled with the aliases that use it."""
        if any(s.reachable for s in stats):
            self.stdout.write("keys per database:")
        users = database_users()
        servers: dict[str, dict[str, int]] = {}
        for s in stats:
            if s.reachable and s.backend != "RedisCache":
                self.stdout.write(f"  {s.alias}: {s.backend} (in-process, no Redis)")
            elif s.keys:
                servers.setdefault(s.server, {}).update(s.keys)
        for server, keys in servers.items():
            self.stdout.write(f"  {server}:")
            for name, count in sorted(keys.items(), key=lambda kv: int(kv[0][2:])):
                used_by = ", ".join(users.get((server, int(name[2:])), [])) or "not ERP Core's"
                self.stdout.write(f"    {name:<5} {count:>9} keys  ({used_by})")

    def handle(self, *args, **options):
        stats = all_stats()
        self.stdout.write(self.style.MIGRATE_HEADING("  ".join(h.ljust(w) for _, h, w in COLUMNS)))
        for s in stats:
            row = [_fmt(name, getattr(s, name)).ljust(w) for name, _, w in COLUMNS]
            line = "  ".join(row)
            self.stdout.write(line if s.reachable else self.style.ERROR(line))
        self._keys(stats)
        self._broker()
        down = [s for s in stats if not s.reachable]
        if down:
            details = "; ".join(f"{s.alias}: {s.error}" for s in down)
            raise CommandError(
                f"Redis unreachable for {len(down)} cache alias(es) ({details}). The API keeps "
                "answering from the database meanwhile. Check that Redis runs and that REDIS_URL "
                '(or REDIS_<ALIAS>_URL) points at it: `redis-cli -u "$REDIS_URL" ping`.'
            )
        self.stdout.write(self.style.SUCCESS(f"{len(stats)} cache alias(es) reachable."))
