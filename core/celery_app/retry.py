"""The retry policy of every ERP task, and where long waits are kept.

A task that fails on a *transient* error (an external service or the database briefly
unreachable: SMTP refusing connections, a socket timeout, a dropped database connection) is
retried for at least ``CELERY_TASK_RETRY_WINDOW`` seconds (default 24 h) after its first
failure, with exponential backoff from ``CELERY_TASK_RETRY_BACKOFF`` seconds capped at
``CELERY_TASK_RETRY_BACKOFF_MAX`` (default 10 min) and jittered down by up to
``RETRY_JITTER`` (so a crowd of retries spreads out, yet the worst case stays computable).

Where the wait is kept: not in the broker. A Redis message with an ETA sits in the worker's
memory and in the broker's unacked set; past the transport's ``visibility_timeout`` it is
redelivered to a second worker (a duplicate), and hours of such messages pile up in worker
memory. Instead the *retry store* (``core.outbox`` registers it at start-up) parks the task in
the outbox table with ``next_attempt_at`` and the periodic outbox relay (beat) publishes it
again when it is due. Only when the database itself is the failing component (the store can't
write) does the task fall back to a broker retry with a countdown of at most the backoff cap,
far below the visibility timeout.

A task that gives up (non-transient error, window or explicit ``max_retries`` exhausted) is
recorded by the store's ``dead_letter`` (``manage.py retry_dead_tasks`` re-sends it).
"""

from __future__ import annotations

import errno
import functools
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import InterfaceError, OperationalError


@functools.cache
def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth another try: the database, the broker or a network peer briefly
    unreachable (``TRANSIENT_ERRORS``). Built on first use: the outbox registers its retry store
    from ``ready()``, and a management command should not import redis-py and smtplib for it."""
    import smtplib

    import kombu.exceptions
    import redis.exceptions

    return (
        OperationalError,
        InterfaceError,
        kombu.exceptions.OperationalError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        ConnectionError,
        TimeoutError,
        socket.timeout,
        socket.gaierror,
        smtplib.SMTPServerDisconnected,
        smtplib.SMTPConnectError,
    )


def __getattr__(name: str):
    if name == "TRANSIENT_ERRORS":
        return transient_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# The database itself: parking the retry in a table cannot work, use a broker countdown.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
RETRY_JITTER = 0.25  # a delay is its nominal value times a factor in [1 - RETRY_JITTER, 1]


def is_transient(exc: BaseException) -> bool:
    """True for a failure that another try later may not see (see the module docstring).

    SMTP replies are classified by code: 4xx (e.g. 421 service not available, 451 local error)
    is transient, 5xx (550 mailbox unavailable, 535 authentication failed) is permanent and is
    dead-lettered at once, for an operator to fix and re-send. An SMTP error without a code is
    treated as transient.
    """
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, transient_errors()):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return True
    return isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS


@dataclass(frozen=True)
class RetryPolicy:
    window: float  # seconds after the first failure during which transient failures are retried
    backoff: float  # first delay (seconds), doubled per retry
    backoff_max: float  # cap of a delay (seconds)
    max_retries: int | None = None  # an explicit bound (the task's ``max_retries``), if any

    @classmethod
    def for_task(cls, task) -> RetryPolicy:
        return cls(
            window=float(getattr(task, "retry_window", None) or settings.CELERY_TASK_RETRY_WINDOW),
            backoff=float(settings.CELERY_TASK_RETRY_BACKOFF),
            backoff_max=float(settings.CELERY_TASK_RETRY_BACKOFF_MAX),
            max_retries=getattr(task, "max_retries", None),
        )

    def nominal_delay(self, retries: int) -> float:
        """The delay before retry number ``retries + 1`` (``retries`` already done), unjittered."""
        return min(self.backoff_max, self.backoff * 2 ** min(retries, 40))

    def delay(self, retries: int, rng=random.random) -> float:
        return self.nominal_delay(retries) * (1 - RETRY_JITTER * rng())

    def worst_case_schedule(self) -> list[float]:
        """The shortest delays jitter can draw, until their sum reaches the window.

        Its length is the number of retries a task gets when nothing but a count can be kept
        (the broker fallback); the time-based window (parked retries) gives at least as many.
        """
        delays: list[float] = []
        total = 0.0
        while total < self.window:
            delays.append(self.nominal_delay(len(delays)) * (1 - RETRY_JITTER))
            total += delays[-1]
        return delays

    def retry_limit(self) -> int:
        if self.max_retries is not None:
            return self.max_retries
        return len(self.worst_case_schedule())

    def exhausted(self, retries: int, first_failed_at: datetime, now: datetime) -> bool:
        """Give up now? ``retries`` already done since ``first_failed_at``."""
        if self.max_retries is not None:
            return retries >= self.max_retries
        return now - first_failed_at >= timedelta(seconds=self.window)


@dataclass(frozen=True)
class Parked:
    """What the store did with a transient failure."""

    attempts: int  # failed runs so far, this one included
    first_failed_at: datetime
    next_attempt_at: datetime | None  # None: the policy is exhausted, the task gives up


class RetryStore(Protocol):
    def park(self, task, request, args, kwargs, exc, policy: RetryPolicy, now) -> Parked: ...

    def dead_letter(
        self, task, request, args, kwargs, exc, *, transient, attempts, first_failed_at, now
    ) -> None: ...

    def finished(self, task, request) -> None:
        """The task (published by the outbox) is done with: succeeded, refused, dead-lettered."""


_store: RetryStore | None = None


def set_retry_store(store: RetryStore | None) -> None:
    """Called by ``core.outbox`` at start-up (the outbox owns the tables)."""
    global _store
    _store = store


def get_retry_store() -> RetryStore | None:
    return _store
