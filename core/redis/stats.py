"""Per-alias Redis statistics: PING latency and the ``INFO`` fields operators watch.

Shared by the readiness checks (``core.redis.health``), the Prometheus collector
(``core.redis.metrics``) and ``manage.py redis_stats``. Always talks to Redis directly (no
circuit breaker): probes must report the truth.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.cache import caches

from .availability import cache_errors

REDIS_BACKEND = "django_redis.cache.RedisCache"


@dataclass
class RedisStats:
    alias: str
    backend: str
    reachable: bool
    db: int | None = None
    server: str = ""  # host:port (or the unix socket path) the alias talks to
    error: str = ""
    ping_ms: float | None = None
    used_memory: int | None = None
    maxmemory: int | None = None
    maxmemory_policy: str = ""
    connected_clients: int | None = None
    ops_per_sec: int | None = None
    keyspace_hits: int | None = None
    keyspace_misses: int | None = None
    evicted_keys: int | None = None
    expired_keys: int | None = None
    keys: dict[str, int] = field(default_factory=dict)  # {"db0": n, ...} for the whole server

    @property
    def hit_ratio(self) -> float | None:
        if self.keyspace_hits is None or self.keyspace_misses is None:
            return None
        total = self.keyspace_hits + self.keyspace_misses
        return round(self.keyspace_hits / total, 4) if total else None

    def as_dict(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if v not in (None, "", {})}
        if self.hit_ratio is not None:
            data["hit_ratio"] = self.hit_ratio
        return data


def cache_aliases() -> list[str]:
    return list(settings.CACHES)


def is_redis(alias: str) -> bool:
    return settings.CACHES[alias]["BACKEND"] == REDIS_BACKEND


def alias_stats(alias: str) -> RedisStats:
    backend = settings.CACHES[alias]["BACKEND"].rsplit(".", 1)[-1]
    if not is_redis(alias):
        # LocMem/dummy (tests, or a deliberately cache-less setup): in-process, always there.
        return RedisStats(alias, backend, reachable=True)
    client = caches[alias].client.get_client(write=True)
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db")
    server = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    try:
        started = time.perf_counter()
        client.ping()
        ping_ms = round((time.perf_counter() - started) * 1000, 3)
        info = client.info()
    except cache_errors() as exc:
        return RedisStats(alias, backend, reachable=False, db=db, server=server, error=_short(exc))
    return RedisStats(
        alias,
        backend,
        reachable=True,
        db=db,
        server=server,
        ping_ms=ping_ms,
        used_memory=info.get("used_memory"),
        maxmemory=info.get("maxmemory"),
        maxmemory_policy=info.get("maxmemory_policy", ""),
        connected_clients=info.get("connected_clients"),
        ops_per_sec=info.get("instantaneous_ops_per_sec"),
        keyspace_hits=info.get("keyspace_hits"),
        keyspace_misses=info.get("keyspace_misses"),
        evicted_keys=info.get("evicted_keys"),
        expired_keys=info.get("expired_keys"),
        # Every database of the server that has keys, and the alias's own even when empty.
        keys={
            f"db{db}": 0,
            **{
                name: value.get("keys", 0)
                for name, value in info.items()
                if name.startswith("db") and name[2:].isdigit() and isinstance(value, dict)
            },
        },
    )


_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="redis-stats")


def all_stats() -> list[RedisStats]:
    """Every alias, concurrently: a hung server costs one socket timeout, not one per alias."""
    return list(_executor.map(alias_stats, cache_aliases()))


def database_users() -> dict[tuple[str, int], list[str]]:
    """``{(server, db): [alias, ...]}`` for the cache aliases and Celery's broker/results URLs."""
    from urllib.parse import urlsplit

    users: dict[tuple[str, int], list[str]] = {}

    def add(url: str, name: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            return
        path = parts.path.strip("/")
        db = int(path) if path.isdigit() else 0
        users.setdefault((f"{parts.hostname}:{parts.port or 6379}", db), []).append(name)

    for alias in cache_aliases():
        if is_redis(alias):
            add(str(settings.CACHES[alias]["LOCATION"]), alias)
    add(getattr(settings, "CELERY_BROKER_URL", "") or "", "celery broker")
    add(getattr(settings, "CELERY_RESULT_BACKEND", "") or "", "celery results")
    return users


def _short(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}"[:200]
