"""A database that can't be reached answers 503 with ``Retry-After``, never 500.

What counts as "can't be reached" (``is_outage``): Django's ``OperationalError`` or
``InterfaceError`` from the driver with no SQLSTATE (connection refused, server closed the
connection, connection already closed, pool timeout) or one of the connection-class SQLSTATEs:
``08xxx``, ``57P01`` admin shutdown, ``57P02`` crash shutdown, ``57P03`` cannot connect now
(starting up, in recovery), ``53300`` too many connections; plus ``25006`` (a write reached a
read-only server: a standby during a failover). A lock timeout, a cancelled statement or a
serialization failure is *not* an outage.

Where it is caught: the DRF exception handler (``core.api.exceptions``) for API views and
``server_error`` (``handler500``) for plain Django views and middlewares.
(``DatabaseOutageMiddleware`` exists for projects that want plain views answered without the
500 path; it is not in MIDDLEWARE: every extra middleware layer costs stack frames, and the
JSON nesting limits are checked close to Python's recursion limit.) All three answer with
``outage_response``: 503, ``Retry-After: DB_OUTAGE_RETRY_AFTER`` (seconds, default 5) and
``{"detail": ..., "code": "database_unavailable"}``.

Logging: one ERROR line when a process first sees the outage and one WARNING line with its
length and the number of 503s when a connection succeeds again (``connection_created``);
Django's per-request "Service Unavailable" line is suppressed for these responses. Per process:
four gunicorn workers log the outage four times, not once per request.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from django.conf import settings
from django.db import InterfaceError, InternalError, OperationalError
from django.db.backends.signals import connection_created
from django.http import JsonResponse
from django.views import defaults

logger = logging.getLogger("core.db.outage")

_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "53300", "25006"}


def is_outage(exc: BaseException | None) -> bool:
    """True when ``exc`` means the database (a read-write primary) can't be reached now."""
    if not isinstance(exc, OperationalError | InterfaceError | InternalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)
    if sqlstate is None:
        # InternalError without a SQLSTATE is a driver bug, not a server we couldn't reach.
        return not isinstance(exc, InternalError)
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


class _OutageLog:
    """Per-process outage state: when it started and how many requests got a 503."""

    def __init__(self):
        self._lock = threading.Lock()
        self.since: float | None = None
        self.answered = 0

    def failure(self, exc: BaseException) -> None:
        with self._lock:
            first = self.since is None
            if first:
                self.since, self.answered = time.monotonic(), 0
            self.answered += 1
        if first:
            reason = str(exc.__cause__ or exc).strip().splitlines()
            logger.error(
                "Database unreachable (%s): answering 503 with Retry-After %ss until a "
                "connection succeeds again. Check that PostgreSQL (or, with a multi-host "
                "DATABASE_URL, a promoted primary) is up and reachable.",
                reason[0] if reason else type(exc).__name__,
                retry_after(),
            )

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            seconds, answered = time.monotonic() - self.since, self.answered
            self.since, self.answered = None, 0
        logger.warning(
            "Database reachable again after %.1fs; %d request(s) were answered 503 meanwhile",
            seconds,
            answered,
        )


outage_log = _OutageLog()


def _on_connection_created(sender, connection, **kwargs) -> None:
    outage_log.recovered()


connection_created.connect(_on_connection_created, dispatch_uid="core.db.outage")


def retry_after() -> int:
    return int(getattr(settings, "DB_OUTAGE_RETRY_AFTER", 5))


def outage_response(exc: BaseException) -> JsonResponse:
    outage_log.failure(exc)
    seconds = retry_after()
    response = JsonResponse(
        {
            "detail": f"The database is temporarily unavailable; retry in {seconds} seconds.",
            "code": "database_unavailable",
        },
        status=503,
        headers={"Retry-After": str(seconds)},
    )
    response._has_been_logged = True  # logged once per outage above, not per request
    return response


class DatabaseOutageMiddleware:
    """503 for plain Django views whose database is unreachable (DRF views are answered by the
    API's exception handler before this sees them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            return outage_response(exception)
        return None


def server_error(request, *args, **kwargs):
    """``handler500``: an outage raised outside a view (in a middleware, e.g. the session or
    user lookup) is a 503 as well; anything else is Django's usual 500 page."""
    exc = sys.exc_info()[1]
    if is_outage(exc):
        return outage_response(exc)
    return defaults.server_error(request, *args, **kwargs)
