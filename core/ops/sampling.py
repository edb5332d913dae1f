"""Counts requests and their duration for the operations page's charts (core.ops.history).

Hooked on Django's ``request_started``/``request_finished`` signals rather than a middleware:
no frame is added to every request's stack and nothing is listed in MIDDLEWARE. The duration
runs from the start of the request to the close of its response (streaming included).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.signals import request_finished, request_started

from .history import counter

_local = threading.local()


def _started(sender, environ=None, **kwargs):
    path = (environ or {}).get("PATH_INFO", "")
    static = "/" + settings.STATIC_URL.lstrip("/")
    _local.started = None if path.startswith(static) else (time.time(), time.perf_counter())


def _finished(sender, **kwargs):
    started = getattr(_local, "started", None)
    if started is None:
        return
    _local.started = None
    wall, began = started
    counter.add(wall, (time.perf_counter() - began) * 1000)


def connect() -> None:
    request_started.connect(_started, dispatch_uid="core.ops.request-started")
    request_finished.connect(_finished, dispatch_uid="core.ops.request-finished")
