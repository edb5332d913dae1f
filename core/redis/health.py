"""Readiness checks, one per cache alias (``cache.<alias>``); registered by CoreConfig.ready().

Not critical: with Redis down the API still answers from the database, so the component reports
``degraded`` and ``/health/ready/`` stays 200 (the database down is what makes it 503).
"""

from core.health.registry import register

from .stats import alias_stats, cache_aliases


class CacheDown(Exception):
    pass


def _check(alias: str):
    def check() -> dict:
        stats = alias_stats(alias)
        if not stats.reachable:
            raise CacheDown(
                f"{stats.error} (cache bypassed: requests are served from the database)"
            )
        return {k: v for k, v in stats.as_dict().items() if k not in ("alias", "reachable")}

    return check


for _alias in cache_aliases():
    register(f"cache.{_alias}", critical=False)(_check(_alias))

# The Sentinel group's readiness check (``redis_sentinel``: current master, quorum).
from . import sentinel  # noqa: E402,F401
