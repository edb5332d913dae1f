"""Generation counters: exact cache invalidation without ``delete_pattern`` scans.

A cached entry is stored together with the values of the generation keys it depends on, read
*before* the data was loaded. Invalidating = incrementing a generation (``INCR``); an entry whose
recorded generations differ from the current ones is a miss. Entry and generations are fetched
in one round trip (``get_many``).

Why a generation can never silently return to an old value:

- generation keys are stored without a TTL (entries always have one), so under the recommended
  ``volatile-lru`` policy they are never evicted;
- if one is lost anyway (``allkeys-*`` eviction, a ``FLUSHDB``, a Redis restart without
  persistence), it is re-created at a fresh *random* 52-bit value, not at 0 or 1, so it can't
  coincide with the value an old entry recorded (chance ~ bumps / 2**52);
- an entry is written with the generations read before the database query: a bump that lands
  while the query runs makes the entry stale at once, never valid.

Writes bump twice: immediately (so later reads in the same transaction, and tests running inside
one, see the change) and again in ``transaction.on_commit`` (so nothing another request cached
between the write and the commit, from the pre-write state, survives). Entries are never filled
from inside an application transaction (they could hold rows that are then rolled back).

If Redis is unreachable when a bump is due, the bump is kept in this process and replayed before
its next use of the alias; nobody is served from Redis in the meantime because readers fall back
to the database while it is down. The residual risk (Redis reachable for readers but not for the
writer) is bounded by the entry TTL. See docs/caching.md.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from .availability import CacheUnavailable, run

logger = logging.getLogger("core.redis")

MISS = object()

# Bumps that could not reach Redis, replayed before this process next uses the alias.
_pending: dict[str, set[str]] = defaultdict(set)


def fresh_generation() -> int:
    """A random starting value: a re-created generation never equals a lost one."""
    return secrets.randbits(52) + 1


def _bump_key(cache, key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing (never set, evicted or flushed): start somewhere new
        cache.add(key, fresh_generation(), timeout=None)


def _replay_pending(alias: str, cache) -> None:
    pending = _pending.get(alias)
    while pending:
        try:
            key = pending.pop()
        except KeyError:  # another thread emptied it
            return
        try:
            _bump_key(cache, key)
        except BaseException:
            pending.add(key)
            raise


def bump(alias: str, *keys: str) -> None:
    """Increment generation ``keys`` now (kept and replayed later if Redis is down)."""

    def op(cache):
        _replay_pending(alias, cache)
        for key in keys:
            _bump_key(cache, key)

    try:
        run(alias, op)
    except CacheUnavailable:
        _pending[alias].update(keys)


def bump_now_and_on_commit(alias: str, *keys: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """The invalidation to call from every write path (signals, querysets, services)."""
    if not keys:
        return
    bump(alias, *keys)
    transaction.on_commit(partial(bump, alias, *keys), using=using, robust=True)


def in_application_transaction(using: str = DEFAULT_DB_ALIAS) -> bool:
    """True inside ``atomic()`` opened by the application (test-case wrappers don't count)."""
    return any(
        not getattr(block, "_from_testcase", False) for block in connections[using].atomic_blocks
    )


@dataclass(frozen=True, slots=True)
class Lookup:
    generations: tuple | None  # None: the cache is unusable right now (don't store)
    value: Any = MISS

    @property
    def hit(self) -> bool:
        return self.value is not MISS


@dataclass(slots=True)
class Recording:
    """What one request's cached answer depended on (``recording()``; core.api.front_cache).

    ``reads``: every ``read()`` as ``(alias, generation keys, generation values seen)``;
    ``facets``: what the layers that took part declared covered by those reads (``note``), e.g.
    ``"credential"`` (the caller follows from the ``Authorization`` header and the token
    generation), ``"membership"`` (organization, role and permissions follow from the
    permission-cache generations); ``expires_at``: the earliest expiry (epoch seconds) a layer
    declared; ``result``: set by the response cache (the entry key and its generations).
    """

    reads: list = field(default_factory=list)
    facets: set = field(default_factory=set)
    expires_at: float | None = None
    result: Any = None


_recording: ContextVar[Recording | None] = ContextVar("generation_recording", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Record the generation reads (and notes) of the code run inside the block."""
    current = Recording()
    token = _recording.set(current)
    try:
        yield current
    finally:
        _recording.reset(token)


def current_recording() -> Recording | None:
    return _recording.get()


def note(facet: str, *, expires_at=None) -> None:
    """Declare ``facet`` of the answer being computed covered by the generations read so far
    (valid only until ``expires_at``, a datetime, if given). A no-op outside ``recording()``."""
    current = _recording.get()
    if current is None:
        return
    current.facets.add(facet)
    if expires_at is not None:
        stamp = expires_at.timestamp()
        if current.expires_at is None or stamp < current.expires_at:
            current.expires_at = stamp


def _fetch(cache, keys: list[str]) -> list:
    """``keys``' values in one ``MGET`` (``None`` where missing).

    On django-redis the raw redis-py client is used with django-redis's own key function and
    decoder (same keys, same serializer): ``get_many`` builds a dict and a reverse key map per
    call, which is a visible share of a cache hit's CPU. Other backends (LocMem in unit tests)
    go through ``get_many``.
    """
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client"):
        found = cache.get_many(keys)
        return [found.get(key, None) for key in keys]
    raw = client.get_client(write=False).mget([client.make_key(key) for key in keys])
    return [None if value is None else client.decode(value) for value in raw]


def read(alias: str, entry_key: str, generation_keys: Sequence[str]) -> Lookup:
    """The entry if it was stored under the current generations, else a miss (one round trip)."""

    def op(cache):
        if _pending.get(alias):
            _replay_pending(alias, cache)
        *generations, entry = _fetch(cache, [*generation_keys, entry_key])
        if None in generations:
            missing = [
                key
                for key, value in zip(generation_keys, generations, strict=True)
                if value is None
            ]
            for key in missing:
                cache.add(key, fresh_generation(), timeout=None)
            found = cache.get_many(missing)
            generations = [
                found.get(key) if value is None else value
                for key, value in zip(generation_keys, generations, strict=True)
            ]
            if None in generations:
                return Lookup(None)
        generations = tuple(generations)
        if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generations:
            return Lookup(generations, entry[1])
        return Lookup(generations)

    try:
        lookup = run(alias, op)
    except CacheUnavailable:
        lookup = Lookup(None)
    current = _recording.get()
    if current is not None:
        current.reads.append((alias, tuple(generation_keys), lookup.generations))
    return lookup


def store(
    alias: str, entry_key: str, lookup: Lookup, value: Any, timeout: Any = DEFAULT_TIMEOUT
) -> bool:
    """Store ``value`` under the generations ``lookup`` saw (before the data was loaded)."""
    if lookup.generations is None or in_application_transaction():
        return False
    try:
        run(alias, lambda cache: cache.set(entry_key, (lookup.generations, value), timeout))
    except CacheUnavailable:
        return False
    return True


def wait_for(alias: str, entry_key: str, generation_keys: Sequence[str], *, seconds: float):
    """Poll for an entry another process is computing (stampede guard); ``Lookup`` or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
        lookup = read(alias, entry_key, generation_keys)
        if lookup.hit or lookup.generations is None:
            return lookup
    return None


def forget_pending() -> None:
    """Drop kept bumps (tests)."""
    _pending.clear()


__all__ = [
    "MISS",
    "Lookup",
    "Recording",
    "current_recording",
    "note",
    "recording",
    "bump",
    "bump_now_and_on_commit",
    "fresh_generation",
    "in_application_transaction",
    "read",
    "store",
    "wait_for",
]
