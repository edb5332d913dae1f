"""Request ids: one id per request, on its response, its log lines and the tasks it enqueues.

- :class:`RequestIdMiddleware` (first in ``MIDDLEWARE``) takes the client's ``X-Request-ID`` when
  it is well formed (:data:`WELL_FORMED`: 8-64 of ``A-Z a-z 0-9 . _ : -``), else makes a new one
  (32 hex digits), keeps it in a ContextVar for the request and answers it in ``X-Request-ID``.
- :class:`RequestIdFilter` (on the log handlers in ``LOGGING``) puts it on every log record as
  ``request_id`` (``-`` outside a request or task).
- Tasks: ``core.outbox.enqueue`` stores it in the message's Celery headers and a
  ``before_task_publish`` handler adds it to any other publish; in the worker,
  ``task_prerun``/``task_postrun`` set and restore the ContextVar, so the worker's log lines of
  that task carry the id of the request that queued it (``core.celery_app.signals``).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

__all__ = [
    "HEADER",
    "RequestIdFilter",
    "RequestIdMiddleware",
    "get_request_id",
    "new_request_id",
    "set_request_id",
    "reset_request_id",
    "well_formed",
]

HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")  # within what the audit trigger accepts
_META_KEY = "HTTP_X_REQUEST_ID"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "erp_request_id", default=None
)


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(value: str | None) -> bool:
    return bool(value) and WELL_FORMED.fullmatch(value) is not None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.META.get(_META_KEY)
        request_id = supplied if well_formed(supplied) else new_request_id()
        request.request_id = request_id
        # Not reset on the way out: Django logs 4xx/5xx responses (``django.request``) after the
        # middleware returns. ``request_finished`` clears it (:func:`clear_on_request_finished`);
        # each request (thread or ASGI task) has its own context, so nothing leaks between them.
        _request_id.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(sender, **kwargs) -> None:
    _request_id.set(None)


def clear_on_request_finished() -> None:
    from django.core.signals import request_finished

    request_finished.connect(_clear, dispatch_uid="core.requestid.clear")


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (never filters anything out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True
