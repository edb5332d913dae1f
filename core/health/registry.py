"""Component health checks.

A check is a function returning a dict (extra details) or raising on failure. ``critical`` checks
(the database) turn readiness into 503 when they fail; every other component reports
``degraded`` and readiness stays 200, because the API still answers without them.

Each check runs in a worker thread with a deadline (``HEALTH_CHECK_TIMEOUT``, default 1 s), so a
dead backend that hangs instead of refusing can't hold the probe longer than that.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from core.registry import HealthCheck as Check
from core.registry import register_health_check, registry

# Few long-lived threads: each keeps its own persistent DB connection between probes.
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


class Degraded(Exception):
    """Raised by a check that answered but found a problem: the component is ``degraded``
    (never 503, even for a critical check) and ``details`` stay in the readiness body."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


def register(name: str, *, critical: bool = False):
    """Decorator form of ``core.registry.register_health_check``."""

    def decorator(func):
        register_health_check(name, func, critical=critical)
        return func

    return decorator


def run_checks() -> tuple[bool, dict[str, dict]]:
    """Run every check concurrently; return (ready, {component: result})."""
    timeout = getattr(settings, "HEALTH_CHECK_TIMEOUT", 1.0)
    started = time.monotonic()
    futures = {
        check: _executor.submit(_timed, check.func) for check in registry["health_checks"].values()
    }
    results: dict[str, dict] = {}
    ready = True
    for check, future in futures.items():
        remaining = max(0.0, timeout - (time.monotonic() - started))
        try:
            details, elapsed = future.result(timeout=remaining)
            results[check.name] = {
                "status": "ok",
                "latency_ms": round(elapsed * 1000, 2),
                **details,
            }
        except Degraded as exc:
            results[check.name] = {"status": "degraded", "error": str(exc), **exc.details}
            continue
        except FutureTimeout:
            results[check.name] = _failed(check, f"no answer within {timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - any failure is a health finding
            results[check.name] = _failed(check, f"{type(exc).__name__}: {exc}")
        if check.critical and results[check.name]["status"] != "ok":
            ready = False
    return ready, results


def _timed(func):
    started = time.perf_counter()
    try:
        details = func() or {}
    finally:
        _tidy_connections()
    return details, time.perf_counter() - started


def _tidy_connections() -> None:
    """Probe threads live long: keep their DB connections for the next probe (one connect saved
    per probe) but drop broken ones; with HEALTH_CHECK_KEEP_CONNECTIONS off (tests: the test
    database must be droppable at the end) close them all."""
    for connection in connections.all(initialized_only=True):
        if settings.HEALTH_CHECK_KEEP_CONNECTIONS:
            connection.close_if_unusable_or_obsolete()
        else:
            connection.close()


def _failed(check: Check, error: str) -> dict:
    return {"status": "down" if check.critical else "degraded", "error": error}
