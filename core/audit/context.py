"""Who is changing things, and in which request: handed to the audit trigger for free.

For the duration of a request (``AuditContextMiddleware``) or a Celery task (``task_prerun`` to
``task_postrun``, :func:`connect_task_signals`), the database connection is wrapped so each
statement starts with a comment the trigger (``core.audit.triggers``) reads back with
``current_query()``::

    /*audit:'<user id>,<request id>'*/ UPDATE ...

No extra statement and no extra round trip, and nothing is left on the connection afterwards.

- The request id is the one of ``core.requestid`` (one mechanism for logs, responses, tasks and
  audit rows): a request's own; in a task, the id of the request that queued it, which
  ``core.celery_app.signals`` restores in the worker from the message's headers.
- The actor is the request's user, read when the statement is sent, so DRF's token
  authentication (which runs in the view, after the middleware) is seen. A task's actor is the
  system (empty: ``NULL``).
- The context travels as a **bound parameter** of the statement (``/*audit:%s*/``), not as
  text: the SQL text then stays the same from request to request, so psycopg's cache of parsed
  queries (``_query2pg_client``, an LRU keyed by the query text) keeps hitting. Pasting the
  request id into the text made every statement of every request a cache miss: psycopg
  re-parsed each one for placeholders, and the flood of one-off texts evicted the hot ones
  (measured in ``make bench-audit``; docs/operations.md#audit-log-retention).
- Nothing to say (no actor and no request id: a task nobody queued from a request, a command,
  the shell): statements are sent unchanged, and the trigger records the system.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.functional import LazyObject

from core.requestid import get_request_id, well_formed

__all__ = ["AuditContextMiddleware", "StatementContext", "connect_task_signals"]

# The bound form, for the parameter styles Django's cursors pass on.
_POSITIONAL = "/*audit:%s*/ "
_NAMED = "/*audit:%(_audit_context)s*/ "


class StatementContext:
    """The connection's execute wrapper for one request (``request``) or task (``None``)."""

    __slots__ = ("request", "_user", "_request_id", "_context")

    def __init__(self, request=None):
        self.request = request
        self._user = self._request_id = self._context = None

    def _actor(self):
        if self.request is None:
            return None
        # Never evaluate AuthenticationMiddleware's lazy user here: its queries come back
        # through this wrapper. Evaluated, it is cached in ``_cached_user``; DRF replaces it.
        user = self.request.__dict__.get("user")
        if isinstance(user, LazyObject):
            user = self.request.__dict__.get("_cached_user")
        return user

    def context(self) -> str | None:
        """``"<user id>,<request id>"``, or None when there is neither."""
        user, request_id = self._actor(), get_request_id()
        if user is not self._user or request_id is not self._request_id:
            self._user, self._request_id = user, request_id
            user_id = (
                getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
            )
            if not well_formed(request_id):
                request_id = None  # within what the trigger's pattern accepts, or nothing
            self._context = f"{user_id or ''},{request_id or ''}" if user_id or request_id else None
        return self._context

    def __call__(self, execute, sql, params, many, context):
        value = self.context()
        if value is None:
            return execute(sql, params, many, context)
        if params is None or many:
            # No parameters: psycopg sends the text as it is (no parse, no cache to miss).
            # executemany: parsed once for all its rows anyway. The value is safe as text:
            # digits, a comma and well_formed() characters only.
            return execute(f"/*audit:'{value}'*/ " + sql, params, many, context)
        if isinstance(params, dict):
            return execute(_NAMED + sql, {**params, "_audit_context": value}, many, context)
        return execute(_POSITIONAL + sql, (value, *params), many, context)


class AuditContextMiddleware:
    """Wraps the request's statements (after ``core.requestid.RequestIdMiddleware``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.AUDIT_LOG_ENABLED:
            return self.get_response(request)
        with connection.execute_wrapper(StatementContext(request)):
            return self.get_response(request)


# --- tasks --------------------------------------------------------------------------------------


def _task_prerun(sender=None, **kwargs) -> None:
    if not settings.AUDIT_LOG_ENABLED:
        return
    # Appended (innermost): its prefix comes first in the text, which is the one the trigger
    # reads, so an eager task run inside a request records the system as its actor, as in a
    # worker. A task that runs another eagerly stacks a second one; postrun pops the last.
    connection.execute_wrappers.append(StatementContext())


def _task_postrun(sender=None, **kwargs) -> None:
    wrappers = connection.execute_wrappers
    for index in range(len(wrappers) - 1, -1, -1):
        wrapper = wrappers[index]
        if isinstance(wrapper, StatementContext) and wrapper.request is None:
            del wrappers[index]
            return


def connect_task_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="core.audit.prerun")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="core.audit.postrun")
