"""Who is changing things, and in which request: handed to the audit trigger for free.

``AuditContextMiddleware`` gives every request an id (the client's ``X-Request-ID`` when it is a
sane token, else a new one; echoed in the response header) and, for the request's duration,
wraps the database connection so each statement starts with::

    /*audit:<user id>,<request id>*/ UPDATE ...

The trigger (``core.audit.triggers``) parses that prefix with ``current_query()``: no extra
statement and no extra round trip, and nothing is left on the connection afterwards. The user is
read when the statement is sent, so DRF's token authentication (which runs in the view, after
the middleware) is seen. Outside a request (tasks, commands) statements are sent unchanged and
the trigger records the system (actor and request id ``NULL``).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.db import connection
from django.utils.functional import LazyObject

__all__ = ["AuditContextMiddleware", "REQUEST_ID_HEADER", "current_request_id"]

REQUEST_ID_HEADER = "X-Request-ID"
# What the trigger's pattern accepts; anything else from a client is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_request_id: ContextVar[str | None] = ContextVar("erp_request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


class _StatementPrefix:
    """The connection's execute wrapper for one request."""

    __slots__ = ("request", "request_id", "_user", "_prefix")

    def __init__(self, request, request_id: str):
        self.request = request
        self.request_id = request_id
        self._user = None
        self._prefix = f"/*audit:,{request_id}*/ "

    def prefix(self) -> str:
        # Never evaluate AuthenticationMiddleware's lazy user here: its queries come back
        # through this wrapper. Evaluated, it is cached in ``_cached_user``; DRF replaces it.
        user = self.request.__dict__.get("user")
        if isinstance(user, LazyObject):
            user = self.request.__dict__.get("_cached_user")
        if user is not self._user:
            self._user = user
            user_id = (
                getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
            )
            self._prefix = f"/*audit:{user_id or ''},{self.request_id}*/ "
        return self._prefix

    def __call__(self, execute, sql, params, many, context):
        return execute(self.prefix() + sql, params, many, context)


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # core.requestid.RequestIdMiddleware (before this one) chose the id already: the audit
        # rows, the log lines and the response then carry the same one.
        request_id = getattr(request, "request_id", None)
        if not request_id or not _SANE_REQUEST_ID.fullmatch(request_id):
            given = request.headers.get(REQUEST_ID_HEADER, "")
            request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            if settings.AUDIT_LOG_ENABLED:
                with connection.execute_wrapper(_StatementPrefix(request, request_id)):
                    response = self.get_response(request)
            else:
                response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response
