"""A best-effort mutual-exclusion lock on a cache alias (``add`` = ``SET NX`` with a TTL).

Used as a stampede guard: the first process to miss computes, the others wait for its result.
It is not a correctness lock (the TTL may expire under a slow holder, and while Redis is down
everyone "acquires" it): never use it to protect data, only to avoid duplicate work.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from .availability import CacheUnavailable, run


@contextlib.contextmanager
def cache_lock(alias: str, key: str, *, timeout: float) -> Iterator[bool]:
    """Yields True when this caller holds ``key`` (or the cache is down), False if another does."""
    token = secrets.token_hex(8)
    try:
        acquired = run(alias, lambda cache: cache.add(key, token, timeout=timeout))
        held = bool(acquired)
    except CacheUnavailable:
        acquired, held = True, False
    try:
        yield bool(acquired)
    finally:
        if held:
            with contextlib.suppress(CacheUnavailable):
                # Release only our own lock (it may have expired and been taken by another).
                run(alias, lambda cache: cache.get(key) == token and cache.delete(key))
