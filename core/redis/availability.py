"""Cache bypass while Redis is unreachable (a per-process circuit breaker).

``run(alias, op)`` calls ``op(cache)``. When Redis fails (refused, timed out, reset), it logs one
warning, remembers the failure for ``CACHE_RETRY_AFTER`` seconds (default 2) and raises
``CacheUnavailable``; during that window further calls raise immediately without touching the
network, so a dead Redis costs nothing per request. After the window the next call tries again:
the application recovers by itself when Redis is back, no restart needed.

Callers catch ``CacheUnavailable`` and take the uncached path (the database): never a stale
answer, never an open door.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("core.redis")

T = TypeVar("T")


@functools.cache
def cache_errors() -> tuple[type[BaseException], ...]:
    """What a broken connection looks like through django-redis (and raw redis-py, and
    sockets). A function: redis-py is imported when an error is caught (an ``except`` clause
    evaluates it only then), not when models import this module at start-up."""
    from django_redis.exceptions import ConnectionInterrupted
    from redis.exceptions import RedisError

    return (ConnectionInterrupted, RedisError, OSError)


_retry_at: dict[str, float] = {}


class CacheUnavailable(Exception):
    """The cache alias can't be used right now; take the uncached path."""

    def __init__(self, alias: str):
        super().__init__(f"cache '{alias}' unavailable")
        self.alias = alias


def is_available(alias: str) -> bool:
    """False while the breaker for ``alias`` is open (a recent failure)."""
    return time.monotonic() >= _retry_at.get(alias, 0.0)


def run(alias: str, op: Callable[..., T]) -> T:
    """``op(caches[alias])``, or ``CacheUnavailable`` if Redis is (or recently was) down."""
    if not is_available(alias):
        raise CacheUnavailable(alias)
    try:
        result = op(caches[alias])
    except cache_errors() as exc:
        retry_after = getattr(settings, "CACHE_RETRY_AFTER", 2.0)
        _retry_at[alias] = time.monotonic() + retry_after
        logger.warning(
            "Cache '%s' unreachable (%s): serving from the database, retrying in %gs",
            alias,
            exc,
            retry_after,
        )
        raise CacheUnavailable(alias) from exc
    if alias in _retry_at:
        del _retry_at[alias]
        logger.warning("Cache '%s' reachable again", alias)
    return result


def reset() -> None:
    """Forget every recorded failure (tests; an operator's shell after fixing Redis)."""
    _retry_at.clear()
