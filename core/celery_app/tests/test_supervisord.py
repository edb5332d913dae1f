"""``make run``'s supervision (config/supervisord.conf, issue 9): the real config on private
ports; a SIGKILLed worker main process is restarted and logged while web keeps answering, and
SIGINT (Ctrl-C) stops everything."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from core.celery_app.testing import wait_for, worker_database_url
from core.testing.ports import free_port

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("celery"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent


def _ctl(env, *args) -> str:
    return subprocess.run(
        [BIN / "supervisorctl", "-c", "config/supervisord.conf", *args],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip


def _pid(env, name: str) -> int:
    out = _ctl(env, "pid", name).strip()
    return int(out) if out.isdigit() and out != "0" else 0


def test_supervisord_restarts_a_killed_worker_while_web_serves(broker, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "ERP_RUN_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "TEST_DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": broker.url_for(0),
        "CELERY_RESULT_BACKEND": broker.url_for(0),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_MONITOR_KEY_PREFIX": settings.CELERY_MONITOR_KEY_PREFIX,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DB_CONN_MAX_AGE": "0",
    }
    log = tmp_path / "supervisord.out"
    with open(log, "wb") as out:
        supervisord = subprocess.Popen(
            [BIN / "supervisord", "-n", "-c", "config/supervisord.conf"],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/health/live/"
    try:
        wait_for(lambda: _get(url) == 200, timeout=60, what="web through supervisord")
        for name in ("worker", "beat"):
            wait_for(lambda name=name: "RUNNING" in _ctl(env, "status", name), timeout=60,
                     what=f"{name} RUNNING")  # fmt: skip
        old = _pid(env, "worker")
        assert old

        errors, answered, stop = [], [], threading.Event()

        def poll():
            while not stop.is_set():
                status = _get(url)
                (answered if status == 200 else errors).append(status)
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        os.kill(old, signal.SIGKILL)
        new = wait_for(
            lambda: (pid := _pid(env, "worker")) not in (0, old) and pid,
            timeout=30,
            what="supervisord to start the worker again",
        )
        wait_for(lambda: "RUNNING" in _ctl(env, "status", "worker"), timeout=30,
                 what="the new worker RUNNING")  # fmt: skip
        stop.set()
        poller.join()
        assert new != old
        assert errors == [] and len(answered) > 10
        text = log.read_text()
        assert "exited: worker (terminated by SIGKILL; not expected)" in text
        assert text.count("spawned: 'worker'") == 2

        # Ctrl-C: supervisord stops every program and exits.
        pids = [_pid(env, name) for name in ("web", "worker", "beat")]
        supervisord.send_signal(signal.SIGINT)
        supervisord.wait(timeout=90)
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert _get(url) is None
    finally:
        # Programs run in their own process groups: stop them through supervisord, and kill
        # whatever is left (a failed run must not leave a gunicorn or a worker behind).
        programs = (
            [_pid(env, name) for name in ("web", "worker", "beat")]
            if supervisord.poll() is None
            else []
        )
        if supervisord.poll() is None:
            supervisord.send_signal(signal.SIGTERM)
            try:
                supervisord.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(supervisord.pid, signal.SIGKILL)
                supervisord.wait(10)
        for pid in programs:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        print(log.read_text()[-5000:])


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
