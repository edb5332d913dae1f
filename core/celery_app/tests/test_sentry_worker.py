"""A real worker process with SENTRY_DSN set reports a failing task: the DSN points at a local
HTTP endpoint standing in for Sentry, which receives the event envelope."""

from __future__ import annotations

import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.celery_app.testing import wait_for

from .tasks_for_tests import fail

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("celery")]


@pytest.fixture
def fake_sentry():
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1", received
    server.shutdown()
    server.server_close()


def test_a_failing_task_in_a_real_worker_reaches_sentry(start_worker, fake_sentry):
    dsn, received = fake_sentry
    start_worker("sentry", SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="ci")
    fail.apply_async(kwargs={"marker": "worker-7731"})

    def event_with_marker():
        # The exception event; the worker's error log line about it may arrive as an event of
        # its own, without an exception (core/tests/test_sentry.py filters the same way).
        return [
            body
            for body in received
            if b"task failed on purpose: worker-7731" in body and b'"exception"' in body
        ]

    body = wait_for(event_with_marker, timeout=60, what="the task's event at the fake Sentry")[0]
    assert b'"environment":"ci"' in body.replace(b" ", b"")
    assert b"celery" in body
