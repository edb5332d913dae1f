"""gunicorn settings for ERP Core (sync workers: steadier than gthread on these 2-core machines)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count() * 2)))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# "-" logs requests to stdout; set GUNICORN_ACCESSLOG= (empty) to turn access logs off.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
preload_app = True
# gunicorn's runtime control socket ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn of
# the user and clashes when several run on one machine (benchmarks, tests); off unless asked for.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
