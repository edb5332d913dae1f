"""Helpers for integration tests with a real broker and a real worker process.

Isolation (several engineers and xdist workers share this machine): every test that needs a
broker starts its *own* ``redis-server`` on a free port, in a temp directory, without
persistence, and stops it at the end; nothing touches the shared Redis on 6379. Worker
processes are started in their own process group (so a SIGKILL reaches the pool children too)
against the pytest-django test database, and are stopped by the fixture's finalizer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from core.celery_app import app
from core.testing.ports import free_port
from core.testing.redis import RedisServer  # noqa: F401  (re-exported for tests)

BASE_DIR = Path(settings.BASE_DIR)
ENV_URLS = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")


def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def broker_for_tests(url: str, django_settings) -> Iterator[None]:
    """Point this process's Celery app (and the monitoring code) at ``url``, not eager."""
    names = ("broker_url", "result_backend", "task_always_eager")
    saved = {name: app.conf[name] for name in names}
    # Celery reads CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the environment before its
    # configuration: override both.
    saved_env = {name: os.environ.get(name) for name in ENV_URLS}
    os.environ.update(dict.fromkeys(ENV_URLS, url))
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    django_settings.CELERY_BROKER_URL = url
    django_settings.CELERY_RESULT_BACKEND = url
    app._after_fork()  # forget pooled connections to the previous broker
    try:
        yield
    finally:
        app.conf.update(**saved)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        app._after_fork()


def worker_database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcess:
    """A ``celery -A config <command>`` subprocess in its own process group, on the test DB."""

    def __init__(self, broker_url: str, directory: Path, *, name: str, args: list, extra_env=None):
        self.name = name
        self.log = directory / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            # config.settings.test reads TEST_DATABASE_URL (DATABASE_URL is ignored there).
            "TEST_DATABASE_URL": worker_database_url(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": broker_url,
            "CELERY_MONITOR_KEY_PREFIX": settings.CELERY_MONITOR_KEY_PREFIX,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DB_CONN_MAX_AGE": "0",
            "CELERY_TASK_ALWAYS_EAGER": "false",  # beat must publish, not run tasks itself
            **(extra_env or {}),
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited early:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool children): no ack, no reject."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


class Worker(CeleryProcess):
    """``celery -A config worker`` (prefork) loading the test-only tasks too."""

    def __init__(
        self,
        broker_url: str,
        directory: Path,
        *,
        name: str,
        extra_env=None,
        concurrency: int = 1,
        include: str = "core.celery_app.tests.tasks_for_tests",
        loglevel: str = "INFO",
        gossip: bool = False,
    ):
        args = [
            "worker", "-P", "prefork", "-c", str(concurrency), "-l", loglevel,
            "-n", f"{name}@%h", "-I", include,
        ]  # fmt: skip
        if not gossip:  # ``make run``'s worker has both (gossip: a fanout channel, like pidbox)
            args += ["--without-gossip", "--without-mingle"]
        super().__init__(broker_url, directory, name=name, args=args, extra_env=extra_env)
        self.hostname = f"{name}@{socket.gethostname()}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        from . import monitor

        def ready():
            self.check_running()
            return self.hostname in monitor.read_status().workers

        wait_for(ready, timeout=timeout, what=f"worker {self.hostname} heartbeat")


class Beat(CeleryProcess):
    """``celery -A config beat`` with the project's database scheduler."""

    def __init__(self, broker_url: str, directory: Path, *, name: str = "beat", extra_env=None):
        args = [
            "beat", "-l", "INFO", "--scheduler", "core.celery_app.beat:DatabaseScheduler",
            "--pidfile", str(directory / f"{name}.pid"),
        ]  # fmt: skip
        super().__init__(broker_url, directory, name=name, args=args, extra_env=extra_env)


class SmtpServer:
    """A minimal real SMTP server on a loopback port, in a thread of the test process.

    ``start()`` listens (and accepts mail), ``stop()`` closes the listening socket so clients get
    ``ConnectionRefusedError``; the port stays the same across stops and starts. ``messages``
    holds ``(mail_from, rcpt_tos, data)`` of every message accepted (a ``DATA`` that ended with
    ``250``): a test counts what really arrived.
    """

    def __init__(self, port: int | None = None):
        import threading

        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.messages: list[tuple[str, list[str], str]] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def start(self) -> SmtpServer:
        import socketserver
        import threading

        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self) -> None:
                self.reply("220 erp-test-smtp ready")
                mail_from, rcpts = "", []
                while raw := self.rfile.readline():
                    command = raw.decode(errors="replace").strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 erp-test-smtp")
                    elif verb == "MAIL":
                        mail_from, rcpts = command.split(":", 1)[1].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(command.split(":", 1)[1].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            lines.append(line.decode(errors="replace"))
                        with outer._lock:
                            outer.messages.append((mail_from, rcpts, "".join(lines)))
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((self.host, self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def subjects(self) -> list[str]:
        with self._lock:
            data = [message[2] for message in self.messages]
        return [
            line.split(":", 1)[1].strip()
            for text in data
            for line in text.splitlines()
            if line.lower().startswith("subject:")
        ]
