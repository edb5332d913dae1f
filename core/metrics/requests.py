"""Request metrics: ``erp_http_requests_total`` and ``erp_http_request_duration_seconds``,
labelled by method, route (the URL pattern, e.g. ``api/v1/products/<pk>/``, never the raw path)
and status.

:class:`RequestMetricsMiddleware` records each response (``REQUEST_METRICS_ENABLED``, default on;
the benchmark measures it off too). prometheus_client keeps the values; with several gunicorn
workers set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode: each process
writes its values to files there, ``/metrics`` adds them up, ``config/gunicorn.py`` clears the
directory at start and marks dead workers), else each process reports its own.
"""

from __future__ import annotations

import os
import re
import time
from functools import lru_cache

from django.conf import settings
from prometheus_client import Counter, Histogram

from core.registry import register_metrics_collector

__all__ = ["RequestMetricsMiddleware", "route_of"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LABELS = ("method", "route", "status")
REQUESTS = Counter(
    "erp_http_requests", "HTTP requests answered, by route pattern", LABELS, registry=None
)
DURATION = Histogram(
    "erp_http_request_duration_seconds",
    "Time from the first middleware to the response, by route pattern",
    LABELS,
    buckets=BUCKETS,
    registry=None,
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@lru_cache(maxsize=1024)
def _pretty(route: str) -> str:
    """``api/v1/^products/(?P<pk>[^/.]+)/$`` (a DRF router's regex) → ``api/v1/products/<pk>/``."""
    return _GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "").replace("\\", "")


def route_of(request) -> str:
    match = getattr(request, "resolver_match", None)
    # A catch-all view marked ``unmatched_route`` (core.api.errors.unknown_api_url) is a 404 too.
    if match is None or match.route is None or getattr(match.func, "unmatched_route", False):
        return "<unmatched>"  # 404s: one label, whatever the client asked for
    return _pretty(match.route)


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.REQUEST_METRICS_ENABLED:
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in KNOWN_METHODS else "other"
        labels = (method, route_of(request), str(response.status_code))
        REQUESTS.labels(*labels).inc()
        DURATION.labels(*labels).observe(time.perf_counter() - started)
        return response


class RequestMetricsCollector:
    def collect(self):
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            from prometheus_client.multiprocess import MultiProcessCollector

            collector = MultiProcessCollector(None, path=directory)
            yield from collector.collect()
        else:
            yield from REQUESTS.collect()
            yield from DURATION.collect()


register_metrics_collector("http_requests", RequestMetricsCollector())
