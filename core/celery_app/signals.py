"""Celery signal handlers: per-task counters and worker heartbeats, kept in Redis.

Counters live in Redis rather than in each process, so every web process scraping ``/metrics``
reports the same totals. A monitoring write that fails (Redis down) is logged and dropped: it
must never fail the task it describes.
"""

from __future__ import annotations

import logging
import time

from celery import signals
from django.db import connections

from . import monitor, redelivery

logger = logging.getLogger("core.celery_app")


def _safely(func, *args, **kwargs) -> None:
    try:
        func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - monitoring must not break tasks
        logger.debug("celery monitoring write failed: %s", exc)


def _task_name(sender) -> str:
    return getattr(sender, "name", None) or str(sender)


@signals.task_success.connect
def _on_success(sender=None, **kwargs):
    _safely(monitor.count_task, _task_name(sender), "succeeded")


@signals.task_failure.connect
def _on_failure(sender=None, task_id=None, exception=None, **kwargs):
    _safely(monitor.count_task, _task_name(sender), "failed")
    logger.error("task.failed task=%s id=%s error=%r", _task_name(sender), task_id, exception)


@signals.task_retry.connect
def _on_retry(sender=None, request=None, reason=None, **kwargs):
    _safely(monitor.count_task, _task_name(sender), "retried")
    logger.warning(
        "task.retry task=%s id=%s org=%s attempt=%s reason=%r",
        _task_name(sender),
        getattr(request, "id", None),
        (getattr(request, "kwargs", None) or {}).get("organization_id"),
        getattr(request, "retries", 0) + 1,
        reason,
    )


@signals.task_postrun.connect
def _drop_stale_database_connections(sender=None, **kwargs):
    """After each task, close a connection that failed or outlived ``CONN_MAX_AGE``.

    Celery's Django fixup would close every connection around every task unless
    ``CELERY_DB_REUSE_MAX`` is set (it is, see settings): a new PostgreSQL connection per task
    cost 3x the throughput of a trivial task here. Unlike Django's per-request
    ``close_old_connections`` this does not re-ping a healthy connection before every task
    (one round trip per task); a connection is pinged only after it raised an error.
    """
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # eager (tests, dev): the caller owns the connection and its transaction
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        expired = conn.close_at is not None and now >= conn.close_at
        if expired or (conn.errors_occurred and not conn.is_usable()):
            conn.close()
        else:
            conn.errors_occurred = False


@signals.heartbeat_sent.connect
def _on_heartbeat(sender=None, **kwargs):
    hostname = getattr(getattr(sender, "eventer", None), "hostname", None)
    if hostname:
        _safely(monitor.record_worker_heartbeat, hostname)
        _safely(redelivery.on_heartbeat, hostname)


@signals.task_received.connect
def _on_task_received(sender=None, request=None, **kwargs):
    """Who holds this message: a dead holder's messages are redelivered (redelivery.py)."""
    tag = getattr(getattr(request, "message", None), "delivery_tag", None)
    hostname = getattr(sender, "hostname", None)
    if tag and hostname:
        _safely(redelivery.record_owner, tag, hostname)


@signals.worker_ready.connect
def _on_worker_ready(sender=None, **kwargs):
    _safely(monitor.record_worker_heartbeat, sender.hostname)


@signals.worker_shutdown.connect
def _on_worker_shutdown(sender=None, **kwargs):
    _safely(monitor.record_worker_heartbeat, sender.hostname, alive=False)


# --- request ids (core.requestid): the id of the request that queued a task ------------------


@signals.before_task_publish.connect
def _add_request_id_header(sender=None, headers=None, **kwargs):
    """A task published during a request carries its id (the outbox stores it already)."""
    from core.requestid import CELERY_HEADER, get_request_id

    request_id = get_request_id()
    if headers is not None and request_id and not headers.get(CELERY_HEADER):
        headers[CELERY_HEADER] = request_id


_request_id_tokens: dict[str, object] = {}


@signals.task_prerun.connect
def _set_task_request_id(sender=None, task_id=None, task=None, **kwargs):
    from core.requestid import CELERY_HEADER, set_request_id, well_formed

    request = getattr(task, "request", None)
    # A worker makes the message's headers attributes of the request; an eager apply() (tests,
    # CELERY_TASK_ALWAYS_EAGER) keeps them in request.headers.
    request_id = getattr(request, CELERY_HEADER, None) or (
        getattr(request, "headers", None) or {}
    ).get(CELERY_HEADER)
    if well_formed(request_id):
        _request_id_tokens[task_id] = set_request_id(request_id)


@signals.task_postrun.connect
def _reset_task_request_id(sender=None, task_id=None, **kwargs):
    from core.requestid import reset_request_id

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)
