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


def when_ready(server):
    """In the master, after the preloaded app is imported and before any worker forks."""
    # The OpenAPI schema (seconds to build) once, here: every worker inherits it.
    from core.api.schema import warm

    warm()
    gc.collect()
    gc.freeze()
