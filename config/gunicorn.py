"""gunicorn settings for ERP Core (sync workers: steadier than gthread on these 2-core machines).

Tail latency (docs/operations.md#tail-latency, measured by bench/tail.py): workers are not
recycled by default (a recycled worker serves its first requests with cold per-process caches
while the others queue behind it, which is what put p99 at 3.6x p50 under load), and the
preloaded application's objects are frozen out of the garbage collector before the fork, so a
worker's full collections don't walk (and copy-on-write) the whole framework heap.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count() * 2)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# 0 = never recycle. Set it only to contain a proven leak; the jitter spreads the restarts so
# workers never recycle together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 2
# "-" logs requests to stdout; set GUNICORN_ACCESSLOG= (empty) to turn access logs off.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
preload_app = True
# gunicorn's runtime control socket ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of
# the user and clashes when several run on one machine (benchmarks, tests); off unless asked for.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# Access lines end with the request id (the X-Request-ID response header, core.requestid) and the
# duration in milliseconds.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" '
    "request_id=%({x-request-id}o)s duration_ms=%(M)s"
)
# LOG_FORMAT=json (as for Django, celery and manage.py): gunicorn's own lines (gunicorn.error,
# gunicorn.access) are one JSON object per line too, through python-json-logger.
if os.environ.get("LOG_FORMAT", "plain") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            }
        },
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }


def when_ready(server):
    """In the master, after the preloaded app is imported and before any worker forks."""
    # The OpenAPI schema (seconds to build) once, here: every worker inherits it.
    from core.api.schema import warm

    warm()
    gc.collect()
    gc.freeze()


# Request metrics across workers (core.metrics.requests): with PROMETHEUS_MULTIPROC_DIR set, each
# worker writes its counters there and /metrics adds them up. Stale files of a previous run are
# removed at start; a worker that exits is marked dead (its gauges dropped, counters kept).
_prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    if _prometheus_dir:
        os.makedirs(_prometheus_dir, exist_ok=True)
        for name in os.listdir(_prometheus_dir):
            if name.endswith(".db"):
                os.remove(os.path.join(_prometheus_dir, name))


def child_exit(server, worker):
    if _prometheus_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
