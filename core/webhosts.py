"""Which hosts serve web requests: a heartbeat per host in the broker's Redis.

Every web process (gunicorn worker, runserver) records ``socket.gethostname()`` in the sorted
set ``<monitor prefix>web_hosts`` (``erp:celery:web_hosts``; host -> unix time) from a daemon thread started by its
first request, every ``WEB_HEARTBEAT_EVERY`` seconds. ``web_hosts()`` lists the hosts seen
within ``WEB_HEARTBEAT_MAX_AGE``. The files app uses it to warn (readiness, doctor) when several
web hosts use local file storage: each would see only its own ``MEDIA_ROOT``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.core.signals import request_started

from core.celery_app import monitor

logger = logging.getLogger(__name__)
_started_in_pid: int | None = None
_lock = threading.Lock()


def hosts_key() -> str:
    return f"{monitor.monitor_prefix()}web_hosts"


def record_web_heartbeat(host: str | None = None) -> None:
    now = time.time()
    pipe = monitor.broker_redis().pipeline(transaction=False)
    pipe.zadd(hosts_key(), {host or socket.gethostname(): now})
    pipe.zremrangebyscore(hosts_key(), 0, now - 24 * 3600)  # hosts gone for a day
    pipe.execute()


def web_hosts(client=None) -> dict[str, float]:
    """host -> seconds since its last heartbeat, for hosts within WEB_HEARTBEAT_MAX_AGE."""
    client = client if client is not None else monitor.broker_redis()
    now = time.time()
    seen = client.zrangebyscore(
        hosts_key(), now - settings.WEB_HEARTBEAT_MAX_AGE, "+inf", withscores=True
    )
    return {name.decode(): max(0.0, now - at) for name, at in seen}


def _beat_forever() -> None:
    from redis import RedisError  # this thread starts with the first request, not at import

    while True:
        try:
            record_web_heartbeat()
        except RedisError as exc:  # broker down: the API keeps working, so do we
            logger.debug("web heartbeat not recorded: %s", exc)
        time.sleep(settings.WEB_HEARTBEAT_EVERY)


def _on_request(sender, **kwargs) -> None:
    global _started_in_pid
    if _started_in_pid == os.getpid():
        return
    with _lock:
        if _started_in_pid == os.getpid():  # forked workers start their own
            return
        _started_in_pid = os.getpid()
    threading.Thread(target=_beat_forever, name="web-heartbeat", daemon=True).start()


def connect() -> None:
    request_started.connect(_on_request, dispatch_uid="core.webhosts.heartbeat")
