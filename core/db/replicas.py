"""Read replicas with read-your-writes (docs/database.md#read-replicas).

``DATABASE_REPLICA_URLS`` (comma-separated) adds the aliases ``replica_1``, ``replica_2``...
``ReplicaRouter`` sends a read there only while the current request (or Celery task) allows it:

- ``ReplicaReadsMiddleware`` allows it for GET/HEAD under ``DATABASE_REPLICA_PATHS`` (the API);
  everything else — writes, other methods, migrations, commands, Celery tasks — reads from the
  primary. A task opts in with ``replica_reads = True`` on the task (or ``replica_reads()``).
- Inside a transaction on the primary (``atomic``) reads stay on the primary; so do
  ``select_for_update`` and every read Django does for a write (``_for_write`` querysets).

Read-your-writes, modelled on GitLab's database load balancer: after a request with an unsafe
method (POST/PUT/PATCH/DELETE) by a user, the primary's ``pg_current_wal_insert_lsn()`` is kept
in the cache under that user for ``DATABASE_REPLICA_STICKY_SECONDS``. The user's later reads go
to a replica whose ``pg_last_wal_replay_lsn()`` has passed that position, otherwise to the
primary. Other users are never pinned. Until the request's user is known (authentication runs in
the view) reads go to the primary; when the cache can't be read, too.

Bad replicas are skipped with no error to the client: one lagging more than
``DATABASE_REPLICA_MAX_LAG`` seconds, one that is not in recovery (a URL pointing at a primary),
and an unreachable one for ``DATABASE_REPLICA_RETRY_AFTER`` seconds. A GET whose replica died
mid-request is answered again from the primary.

Cost on the hot path: each process checks its replicas (one query each) at most every
``DATABASE_REPLICA_CHECK_INTERVAL`` seconds; an eligible request adds one cache read (the user's
pin) and no database query.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.utils.functional import empty

from core.db.config import PRIMARY
from core.db.config import REPLICA_ALIAS_PREFIX as ALIAS_PREFIX
from core.redis import availability

logger = logging.getLogger("core.db.replicas")


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

STATUS_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn()::text,
       CASE
         WHEN NOT pg_is_in_recovery() THEN NULL
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
              AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
           THEN 0
         -- WAL waiting to be replayed: as old as the last replayed commit (or, before the
         -- first one since start-up, as the server's uptime: an upper bound).
         ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(),
                                                  pg_postmaster_start_time()))
       END
"""


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(ALIAS_PREFIX)]


def lsn_to_int(lsn: str | None) -> int:
    if not lsn:
        return 0
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


# --- replica status (per process, refreshed at most every CHECK_INTERVAL) --------------------


@dataclass
class ReplicaStatus:
    alias: str
    state: str = "unknown"  # ok | lagging | down | not_replica | unknown
    lag_seconds: float | None = None
    replay_lsn: int = 0
    checked_at: float = 0.0
    retry_at: float = 0.0  # down: not tried again before this (monotonic)
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.state == "ok"

    def as_dict(self) -> dict:
        return {
            "status": self.state,
            "lag_seconds": None if self.lag_seconds is None else round(self.lag_seconds, 3),
            **({"error": self.error} if self.error else {}),
        }


_statuses: dict[str, ReplicaStatus] = {}
_refresh_lock = threading.Lock()


def _check_interval() -> float:
    return getattr(settings, "DATABASE_REPLICA_CHECK_INTERVAL", 1.0)


def check_replica(alias: str, now: float | None = None) -> ReplicaStatus:
    """Ask the replica where it is (one query on its own connection) and record the answer."""
    now = time.monotonic() if now is None else now
    status = _statuses.setdefault(alias, ReplicaStatus(alias))
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(STATUS_SQL)
            in_recovery, replay_lsn, lag = cursor.fetchone()
    except DatabaseError as exc:
        mark_down(alias, exc, now=now)
        return status
    status.checked_at, status.error = now, ""
    status.replay_lsn = lsn_to_int(replay_lsn)
    status.lag_seconds = None if lag is None else max(0.0, float(lag))
    if not in_recovery:
        status.state, status.error = "not_replica", "not in recovery: not a read replica"
    elif status.lag_seconds is None or status.lag_seconds > settings.DATABASE_REPLICA_MAX_LAG:
        status.state = "lagging"
    else:
        status.state = "ok"
    return status


def mark_down(alias: str, exc: BaseException | str, now: float | None = None) -> None:
    now = time.monotonic() if now is None else now
    status = _statuses.setdefault(alias, ReplicaStatus(alias))
    if status.state != "down":
        logger.warning(
            "Read replica %s unreachable (%s): reading from the primary, retrying in %gs",
            alias,
            exc,
            settings.DATABASE_REPLICA_RETRY_AFTER,
        )
    status.state, status.error = "down", f"{type(exc).__name__}: {exc}".strip()
    status.lag_seconds, status.checked_at = None, now
    status.retry_at = now + settings.DATABASE_REPLICA_RETRY_AFTER
    with contextlib.suppress(Exception):
        connections[alias].close()


def statuses(*, fresh: bool = False) -> list[ReplicaStatus]:
    """Every replica's status; stale ones (older than the check interval) are checked again,
    down ones only after their back-off (``fresh``: check all now, for health and doctor)."""
    now = time.monotonic()
    interval = _check_interval()
    result = []
    for alias in replica_aliases():
        status = _statuses.get(alias)
        due = (
            fresh
            or status is None
            or (status.state == "down" and now >= status.retry_at)
            or (status.state != "down" and now - status.checked_at >= interval)
        )
        if due:
            with _refresh_lock:
                status = check_replica(alias, now)
        result.append(status)
    return result


def reset() -> None:
    """Forget every replica's status (tests)."""
    _statuses.clear()


# --- read-your-writes pins -------------------------------------------------------------------


def _pin_key(user_id) -> str:
    return f"db:ryw:{user_id}"


def _cache_alias() -> str:
    return getattr(settings, "DATABASE_REPLICA_CACHE", "permissions")


def remember_write(user_id) -> None:
    """Pin ``user_id`` to replicas that have replayed the primary's current WAL position."""
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
            lsn = cursor.fetchone()[0]
    except DatabaseError:
        return  # the primary is gone: nothing to read from it either
    ttl = settings.DATABASE_REPLICA_STICKY_SECONDS
    with contextlib.suppress(availability.CacheUnavailable):
        availability.run(_cache_alias(), lambda cache: cache.set(_pin_key(user_id), lsn, ttl))


def pinned_lsn(user_id) -> int | None:
    """The WAL position ``user_id``'s reads must see (0: none); None if the cache is down."""
    try:
        lsn = availability.run(_cache_alias(), lambda cache: cache.get(_pin_key(user_id)))
    except availability.CacheUnavailable:
        return None
    return lsn_to_int(lsn)


def choose_replica(min_lsn: int) -> str | None:
    usable = [s for s in statuses() if s.usable and s.replay_lsn >= min_lsn]
    return random.choice(usable).alias if usable else None


# --- per-request (or per-task) routing state -------------------------------------------------


@dataclass
class ReadRouting:
    """Replica reads allowed for this unit of work. ``request``: the user comes from it once
    authentication has run; ``user_id`` given: a task reading on behalf of a user."""

    request: object | None = None
    user_id: object | None = None
    alias: str | None = None  # decided: a replica alias, or PRIMARY
    used: set[str] = field(default_factory=set)
    failed: bool = False  # a replica failed during this request


_routing: contextvars.ContextVar[ReadRouting | None] = contextvars.ContextVar(
    "erp_db_read_routing", default=None
)


def _authenticated_user_id(request) -> tuple[bool, object | None]:
    """(known, user id): known once authentication has run (DRF sets ``request.user``)."""
    user = request.__dict__.get("user")
    if user is None:
        return False, None
    if getattr(user, "_wrapped", None) is empty:  # session user not loaded: don't load it here
        return False, None
    if not getattr(user, "is_authenticated", False):
        return True, None
    return True, user.pk


def _decide(routing: ReadRouting) -> str | None:
    if routing.alias is not None:
        return routing.alias
    if routing.request is not None:
        known, user_id = _authenticated_user_id(routing.request)
        if not known:
            return None  # before authentication: primary, decided later
    else:
        user_id = routing.user_id
    min_lsn = pinned_lsn(user_id) if user_id is not None else 0
    routing.alias = PRIMARY if min_lsn is None else (choose_replica(min_lsn) or PRIMARY)
    return routing.alias


class ReplicaRouter:
    """``DATABASE_ROUTERS``: reads to a replica only where ``ReadRouting`` allows it."""

    def db_for_read(self, model, **hints):
        routing = _routing.get()
        if routing is None or connections[PRIMARY].in_atomic_block:
            return None
        alias = _decide(routing)
        if alias is None or alias == PRIMARY:
            # Explicitly the primary: an instance hint from a replica must not win here.
            return PRIMARY
        if alias not in routing.used:
            replica = connections[alias]
            try:
                # Django's CONN_HEALTH_CHECKS ping, done now instead of at the first query (so
                # a dead replica is found here, once per request), then (re)connect.
                replica.close_if_health_check_failed()
                replica.ensure_connection()
            except DatabaseError as exc:
                mark_down(alias, exc)
                routing.alias = PRIMARY
                return PRIMARY
            routing.used.add(alias)
        return alias

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # replicas hold the same rows as the primary

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


@contextlib.contextmanager
def replica_reads(user_id=None) -> Iterator[None]:
    """Let reads in this block go to a replica (Celery tasks opt in with this or with
    ``replica_reads = True``). ``user_id``: also respect that user's read-your-writes pin."""
    token = _routing.set(ReadRouting(user_id=user_id))
    try:
        yield
    finally:
        _routing.reset(token)


@contextlib.contextmanager
def primary_reads() -> Iterator[None]:
    """Force the primary inside a block that would otherwise read from a replica."""
    token = _routing.set(None)
    try:
        yield
    finally:
        _routing.reset(token)


def _replica_failure_wrapper(execute, sql, params, many, context):
    try:
        return execute(sql, params, many, context)
    except (OperationalError, InterfaceError) as exc:
        # The server went away, or cancelled the query (e.g. a conflict with recovery): the
        # request is answered again from the primary. Only a broken connection marks the
        # replica down.
        connection = context["connection"]
        routing = _routing.get()
        if routing is not None and routing.alias == connection.alias:
            routing.failed = True
            raw = connection.connection
            if raw is None or raw.closed or getattr(raw, "broken", False):
                mark_down(connection.alias, exc)
        raise


def install_failure_wrapper(sender, connection, **kwargs) -> None:
    """``connection_created``: watch replica connections for failures mid-request."""
    if connection.alias.startswith(ALIAS_PREFIX) and (
        _replica_failure_wrapper not in connection.execute_wrappers
    ):
        connection.execute_wrappers.append(_replica_failure_wrapper)


class ReplicaReadsMiddleware:
    """Allow replica reads for read-only API requests; pin users after their writes; answer a
    GET again from the primary when its replica failed mid-request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.enabled = bool(replica_aliases())
        self.paths = tuple(getattr(settings, "DATABASE_REPLICA_PATHS", ("/api/",)))

    def __call__(self, request):
        if not self.enabled:
            return self.get_response(request)
        if request.method in ("GET", "HEAD") and request.path.startswith(self.paths):
            routing = ReadRouting(request=request)
            token = _routing.set(routing)
            try:
                response = self.get_response(request)
            finally:
                _routing.reset(token)
            if routing.failed and routing.alias != PRIMARY and routing.used:
                # The replica died after the route was chosen: the same GET from the primary.
                response = self.get_response(request)
            return response
        response = self.get_response(request)
        if request.method in UNSAFE_METHODS:
            known, user_id = _authenticated_user_id(request)
            if known and user_id is not None:
                remember_write(user_id)
        return response


# --- Celery: tasks read from the primary unless they opt in ----------------------------------


def _task_prerun(sender=None, task=None, **kwargs) -> None:
    if getattr(task, "replica_reads", False):
        _routing.set(ReadRouting())


def _task_postrun(sender=None, task=None, **kwargs) -> None:
    if getattr(task, "replica_reads", False):
        _routing.set(None)


# --- readiness, /metrics, doctor -------------------------------------------------------------


def replicas_health() -> dict:
    """``/health/ready/`` (not critical: a bad replica degrades, reads go to the primary)."""
    result = {s.alias: s.as_dict() for s in statuses(fresh=True)}
    bad = {alias: r for alias, r in result.items() if r["status"] != "ok"}
    if bad:
        raise RuntimeError(
            "; ".join(
                f"{alias} {r['status']}"
                + (f" (lag {r['lag_seconds']}s)" if r["lag_seconds"] is not None else "")
                + (f": {r['error']}" if r.get("error") else "")
                for alias, r in bad.items()
            )
            + " - reads go to the primary"
        )
    return {"replicas": result}


class ReplicaCollector:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        current = statuses()
        up = GaugeMetricFamily(
            "erp_db_replica_up", "1 if the read replica answered its last check", labels=["replica"]
        )
        usable = GaugeMetricFamily(
            "erp_db_replica_usable",
            "1 if reads are routed to the replica (reachable, in recovery, lag within "
            "DATABASE_REPLICA_MAX_LAG)",
            labels=["replica"],
        )
        lag = GaugeMetricFamily(
            "erp_db_replica_lag_seconds", "Replay lag of the read replica", labels=["replica"]
        )
        for status in current:
            up.add_metric([status.alias], 0.0 if status.state in ("down", "unknown") else 1.0)
            usable.add_metric([status.alias], 1.0 if status.usable else 0.0)
            if status.lag_seconds is not None:
                lag.add_metric([status.alias], status.lag_seconds)
        yield from (up, usable, lag)


def register() -> None:
    """Called by ``CoreConfig.ready()``: wires replicas in only when some are configured (the
    doctor's findings: core.doctor.replicas)."""
    if not replica_aliases():
        return
    from celery.signals import task_postrun, task_prerun
    from django.db.backends.signals import connection_created

    from core.registry import register_health_check, register_metrics_collector

    connection_created.connect(install_failure_wrapper, dispatch_uid="core.db.replicas")
    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="core.db.replicas.prerun")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="core.db.replicas.postrun")
    register_health_check("database_replicas", replicas_health)
    register_metrics_collector("db_replicas", ReplicaCollector())
