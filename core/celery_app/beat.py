"""django-celery-beat's ``DatabaseScheduler`` plus a heartbeat and a lease: one beat dispatches.

Schedules stay in the database (editable in the Django admin under "Periodic tasks"). Any number
of beat processes may run (one per host, two Kubernetes replicas); only the holder of a Redis
lease in the broker's Redis dispatches, the others stand by:

- **The lease** is redis-py's ``redis.lock.Lock`` on ``<prefix>beat:lock`` with a TTL of
  ``CELERY_BEAT_LOCK_TTL`` seconds (default 20). Its token is ``host:pid:<random>``, so anyone
  can read who holds it. The holder renews it (``reacquire``: reset the TTL *if the token is
  still ours*, one Lua script) on every scheduler tick, at least every ``TTL / 4`` seconds.
- **Fencing**: right before each dispatch the holder persists the entry's new ``last_run_at``
  and renews the lease again. A holder that was paused (GC, SIGSTOP, a stuck DB call) past the
  TTL finds a foreign or missing token, sends nothing, logs ``beat lock lost`` and stands by.
  The remaining window is the time between that Lua call and the publish (microseconds), not
  the TTL.
- **Standbys** try to take the lease every ``TTL / 4`` seconds and log ``beat lock held by
  <holder>; standing by`` once a minute. The holder dying (SIGKILL, host gone) lets its lease
  expire: a standby takes over within ``TTL + TTL / 4`` seconds (25 s by default), logs ``beat
  lock acquired`` and re-reads the schedule, including each entry's ``last_run_at``, from the
  database: the last holder saved it before every dispatch, so nothing it sent is sent again.
- **Monitoring**: every beat records itself (``host:pid``) in ``beats``; the holder also in
  ``beat_dispatchers`` and in the ``beat`` heartbeat. ``beat_lock_status()`` reads holder,
  standbys and recent dispatchers (readiness, ``celery_status``, ``doctor``: two dispatchers
  within one lease period is the failure, standbys are fine).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from . import monitor

logger = logging.getLogger("core.celery_app")
HEARTBEAT_EVERY = 5.0
STANDBY_LOG_EVERY = 60.0
DEFAULT_LOCK_TTL = 20


def lock_ttl() -> float:
    return float(getattr(settings, "CELERY_BEAT_LOCK_TTL", DEFAULT_LOCK_TTL) or DEFAULT_LOCK_TTL)


def lock_key() -> str:
    return f"{monitor.monitor_prefix()}beat:lock"


def dispatchers_key() -> str:
    return f"{monitor.monitor_prefix()}beat_dispatchers"


def this_beat() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_of(token: str | bytes | None) -> str | None:
    """``host:pid`` from a lock token ``host:pid:<random>``."""
    if token is None:
        return None
    if isinstance(token, bytes):
        token = token.decode()
    return token.rsplit(":", 1)[0]


class BeatLease:
    """The beat lease (a redis-py ``Lock``) as one beat process sees it."""

    def __init__(self, client=None, *, ttl: float | None = None, name: str | None = None):
        self.client = client if client is not None else monitor.broker_redis()
        self.ttl = ttl or lock_ttl()
        self.name = name or this_beat()
        self.lock = Lock(self.client, lock_key(), timeout=self.ttl, thread_local=False)
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it (never blocks)."""
        token = f"{self.name}:{uuid.uuid4().hex}"
        self.held = bool(self.lock.acquire(blocking=False, token=token))
        return self.held

    def renew(self) -> bool:
        """Reset the TTL if the lease is still ours (atomic check-and-extend); else drop it."""
        if not self.held:
            return False
        try:
            self.lock.reacquire()
        except LockError:  # LockNotOwnedError: expired, or another beat holds it now
            self.held = False
            self.lock.local.token = None
        return self.held

    def release(self) -> None:
        if self.held:
            try:
                self.lock.release()
            except (LockError, RedisError):
                pass
            self.held = False

    def holder(self) -> str | None:
        return holder_of(self.client.get(lock_key()))


class DatabaseScheduler(_DatabaseScheduler):
    _last_heartbeat = 0.0
    _last_renew = 0.0
    _last_attempt = 0.0
    _last_standby_log = 0.0
    _last_db_error_log = -1e9
    _lease: BeatLease | None = None

    # --- the lease ---

    @property
    def lease(self) -> BeatLease:
        if self._lease is None:
            self._lease = BeatLease()
        return self._lease

    def _step(self) -> float:
        return max(0.5, self.lease.ttl / 4)

    def _lose(self, why: str) -> None:
        self._dirty.clear()  # what we reserved but never sent must not overwrite the new holder
        try:
            holder = self.lease.holder() or "nobody"
        except RedisError:
            holder = "unknown (broker unreachable)"
        logger.warning("beat lock lost (%s), now held by %s; standing by", why, holder)
        self._last_standby_log = time.monotonic()

    def _ensure_lease(self, now: float) -> bool:
        lease = self.lease
        try:
            if lease.held:
                if now - self._last_renew >= 1.0:
                    if not lease.renew():
                        self._lose("not renewed in time")
                        return False
                    self._last_renew = now
                return True
            if now - self._last_attempt < self._step():
                return False
            self._last_attempt = now
            if lease.try_acquire():
                self._last_renew = now
                logger.info(
                    "beat lock acquired by %s (ttl %gs); dispatching", lease.name, lease.ttl
                )
                # Re-read every entry (and its last_run_at, saved by the previous holder before
                # each dispatch) from the database instead of trusting what we read at start.
                self._initial_read = True
                self._heap = None
                return True
            if now - self._last_standby_log >= STANDBY_LOG_EVERY or not self._last_standby_log:
                logger.info("beat lock held by %s; standing by", lease.holder() or "nobody")
                self._last_standby_log = now
        except RedisError as exc:
            if lease.held:
                # Can't renew: assume the lease is lost (another beat may get it once Redis is back).
                lease.held = False
                logger.warning("beat lock not renewed (broker unreachable: %s); standing by", exc)
            else:
                logger.warning("beat lock not checked (broker unreachable: %s)", exc)
        return False

    _last_heartbeat_role: bool | None = None

    def _record(self, now: float, *, dispatching: bool) -> None:
        if (
            now - self._last_heartbeat < HEARTBEAT_EVERY
            and dispatching == self._last_heartbeat_role
        ):
            return
        try:
            record_beat(dispatching=dispatching)
            self._last_heartbeat = now
            self._last_heartbeat_role = dispatching
        except Exception as exc:  # noqa: BLE001 - beat must keep scheduling
            logger.warning("beat heartbeat not recorded: %s", exc)

    # --- celery's Scheduler hooks ---

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        holding = self._ensure_lease(now)
        self._record(now, dispatching=holding)
        if not holding:
            return self._step()
        try:
            return min(super().tick(*args, **kwargs), self._step())
        except DatabaseError as exc:
            # The schedule lives in PostgreSQL: while it is down (a restart, a failover) beat
            # waits and tries again instead of exiting (make chaos: "beat raised exception
            # OperationalError", restarted only by supervisord). Nothing was sent this tick.
            if now - self._last_db_error_log >= 30:
                logger.warning("beat: database unreachable (%s); retrying every %ss", exc,
                               self._step())  # fmt: skip
                self._last_db_error_log = now
            close_old_connections()  # a broken connection is replaced at the next try
            return self._step()

    def reserve(self, entry):
        """django-celery-beat's ``reserve`` advances the entry's model but leaves the old entry
        (with the old ``last_run_at``) in the schedule; when the heap is then rebuilt from the
        schedule (after any "Schedule changed", e.g. another beat starting or an admin edit)
        that entry looks due again and is sent a second time. Keep the advanced entry, as
        celery's own ``Scheduler.reserve`` does."""
        new_entry = super().reserve(entry)
        if self._schedule is not None and entry.name in self._schedule:
            self._schedule[entry.name] = new_entry
        return new_entry

    def apply_entry(self, entry, producer=None):
        """Persist the reserved run, check-and-extend the lease, then send (the fence)."""
        # ``reserve`` has advanced last_run_at in memory: save it first, so that a beat taking
        # over after us never sends this run again (a crash here loses one run instead).
        self.sync()
        try:
            owned = self.lease.renew()
        except RedisError as exc:
            owned = self.lease.held = False
            logger.warning("beat lock not renewed (broker unreachable: %s)", exc)
        if not owned:
            self._lose(f"not sending {entry.name}")
            return None
        self._last_renew = time.monotonic()
        # run_at: the time this run was reserved for (its new last_run_at): one per tick.
        model = getattr(entry, "model", None)
        run_at = (
            model.last_run_at.timestamp() if getattr(model, "last_run_at", None) else time.time()
        )
        logger.info(
            "beat.dispatch entry=%s task=%s by=%s run_at=%.3f",
            entry.name,
            entry.task,
            self.lease.name,
            run_at,
        )
        return super().apply_entry(entry, producer=producer)

    def close(self):
        try:
            super().close()
        finally:
            if self._lease is not None:
                try:
                    self._lease.release()  # a clean stop hands over at once, not after the TTL
                except RedisError:
                    pass


# --- monitoring (written by beat, read by health, doctor, celery_status) ---


def record_beat(*, dispatching: bool) -> None:
    """Every beat: ``beats[host:pid]``; the lease holder also the ``beat`` heartbeat and
    ``beat_dispatchers[host:pid]``."""
    monitor.record_beat_heartbeat(dispatching=dispatching)
    if dispatching:
        now = time.time()
        key = dispatchers_key()
        pipe = monitor.broker_redis().pipeline(transaction=False)
        pipe.zadd(key, {this_beat(): now})
        pipe.zremrangebyscore(key, 0, now - 3600)
        ttl = getattr(settings, "CELERY_MONITOR_KEY_TTL", None)
        if ttl:
            pipe.expire(key, ttl)
        pipe.execute()


@dataclass
class BeatLockStatus:
    holder: str | None = None
    ttl_left: float | None = None
    standbys: list[str] = field(default_factory=list)
    dispatchers: list[str] = field(default_factory=list)  # dispatched within one lease period
    error: str = ""

    def as_dict(self) -> dict:
        return {
            "holder": self.holder,
            "lock_ttl_left_s": self.ttl_left,
            "standbys": self.standbys,
            "dispatchers": self.dispatchers,
        }


def beat_lock_status(client=None) -> BeatLockStatus:
    client = client if client is not None else monitor.broker_redis()
    status = BeatLockStatus()
    now = time.time()
    try:
        pipe = client.pipeline(transaction=False)
        pipe.get(lock_key())
        pipe.pttl(lock_key())
        # Every beat records itself at least every HEARTBEAT_EVERY seconds.
        pipe.zrangebyscore(f"{monitor.monitor_prefix()}beats", now - 3 * HEARTBEAT_EVERY, "+inf")
        # A holder records itself at least every HEARTBEAT_EVERY seconds; a beat that last
        # dispatched more than one lease period ago can't be dispatching now.
        pipe.zrangebyscore(
            dispatchers_key(), now - max(lock_ttl() / 2, HEARTBEAT_EVERY * 2), "+inf"
        )
        token, pttl, beats, dispatchers = pipe.execute()
    except RedisError as exc:
        status.error = f"{type(exc).__name__}: {exc}"
        return status
    status.holder = holder_of(token)
    status.ttl_left = round(pttl / 1000, 1) if token is not None and pttl and pttl > 0 else None
    status.dispatchers = sorted(name.decode() for name in dispatchers)
    status.standbys = sorted(name.decode() for name in beats if name.decode() != status.holder)
    return status
