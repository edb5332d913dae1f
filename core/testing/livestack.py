"""The app as ``make run`` serves it (gunicorn + config/gunicorn.py), on a throwaway PostgreSQL
cluster, for fault tests and benchmarks that stop, kill or fail over the database.

- ``clone_test_database`` copies the pytest-django database (schema, migrations and the rows the
  test committed) into a database on a ``core.testing.pgcluster`` cluster: seconds, where
  migrating from scratch takes much longer.
- ``LiveGunicorn`` starts gunicorn with the test settings against a database URL (which may be
  multi-host) on a free port and stops it; ``http`` is a tiny JSON client that never raises on
  an HTTP status.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.db import connection

from core.db import server
from core.testing.pgcluster import Cluster, ClusterError
from core.testing.ports import free_port

BASE_DIR = Path(settings.BASE_DIR)


def clone_test_database(cluster: Cluster, dbname: str = "erp") -> None:
    """``pg_dump`` the pytest database (committed rows only: use ``transaction=True``) and
    restore it as ``dbname`` on ``cluster``."""
    source = server.admin_endpoint().on(connection.settings_dict["NAME"])
    with cluster.connect() as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    dump = subprocess.run(
        [str(cluster.bindir / "pg_dump"), "--format=custom", "--no-password",
         f"--dbname={source.dbname_arg()}"],
        env=source.env(), capture_output=True, check=False,
    )  # fmt: skip
    if dump.returncode != 0:
        raise ClusterError(f"pg_dump of the test database failed: {dump.stderr.decode()[-800:]}")
    restore = subprocess.run(
        [str(cluster.bindir / "pg_restore"), "--no-owner", "--no-acl", "--exit-on-error",
         f"--dbname={cluster.url(dbname)}"],
        input=dump.stdout, capture_output=True, check=False,
    )  # fmt: skip
    if restore.returncode != 0:
        raise ClusterError(
            f"pg_restore into {cluster.name} failed: {restore.stderr.decode()[-800:]}"
        )


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for gunicorn/celery/manage.py with the test settings on ``database_url``."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": database_url,  # config.settings.test reads this, not DATABASE_URL
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
        "GUNICORN_ACCESSLOG": "",
    }
    env.update(extra)
    return env


class LiveGunicorn:
    """gunicorn started as ``make run`` does, on a free port; ``log`` holds its output."""

    def __init__(self, env: dict[str, str], directory: Path, *, workers: int = 1, name="web"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"{name}.log"
        run_env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY=str(workers))
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi",
                 "--config", "config/gunicorn.py"],
                cwd=BASE_DIR, env=run_env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if http("GET", f"{self.base}/health/live/", timeout=1)[0] == 200:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not answer within {timeout:g}s; see {self.log}")
            time.sleep(0.2)

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 120) -> None:
        """Until ``text`` appears ``count`` times in the log (e.g. every worker's boot line)."""
        deadline = time.monotonic() + timeout
        while self.log.read_text().count(text) < count:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} x{count} not logged within {timeout:g}s; see {self.log}"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def http(method: str, url: str, body=None, headers=None, timeout: float = 10):
    """(status, headers, parsed JSON or None). Connection errors raise ``OSError``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, head, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, exc.headers, exc.read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    return status, head, payload
