"""Shared pieces of the benchmarks: a scratch database, a gunicorn started like `make run`,
and wrk runs parsed into numbers."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

from core.testing.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def bench_env(dbname: str, **extra: str) -> dict[str, str]:
    """Environment for manage.py/gunicorn against the bench database (dev settings, DEBUG off)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DEBUG="false",
        DATABASE_URL=f"postgres://erp_app:erp_app_dev@127.0.0.1:5432/{dbname}",
        DATABASE_OWNER_URL=f"postgres://erp_owner:erp_owner_dev@127.0.0.1:5432/{dbname}",
        DATABASE_ADMIN_URL=ADMIN_URL,
        GUNICORN_ACCESSLOG="",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, owner: bool = False, quiet: bool = True) -> str:
    run_env = dict(env)
    if owner:
        run_env["DATABASE_URL"] = env["DATABASE_OWNER_URL"]
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=run_env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_database(dbname: str) -> dict[str, str]:
    """Provision + migrate a fresh bench database (dropped first if it exists)."""
    drop_database(dbname)
    env = bench_env(dbname)
    step(f"provisioning database {dbname}")
    manage(env, "provision_db")
    step("migrating")
    manage(env, "migrate", "--no-input", owner=True)
    return env


def drop_database(dbname: str) -> None:
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-c", f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'],
        check=True,
        capture_output=True,
    )


class Server(NamedTuple):
    base: str  # http://127.0.0.1:<port>
    port: int
    process: subprocess.Popen  # the gunicorn master (its children are the workers)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], *, timeout: float = 90):
    """Start the web server exactly as `make run` does (Procfile's command, config/gunicorn.py)
    on a free port; yields a ``Server``. ``timeout``: seconds to wait for it to answer (a loaded 2-core machine starts it slowly)."""
    port = free_port()
    run_env = dict(env, GUNICORN_BIND=f"127.0.0.1:{port}")
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "config.wsgi", "--config", "config/gunicorn.py"],
        cwd=ROOT,
        env=run_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{base}/health/live/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"gunicorn did not start; see {log.name}")
                time.sleep(0.2)
        yield Server(base, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(base: str) -> str:
    """An API token of the ``bench`` user (bench/api_data.py) from the running server."""
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token/",
        data=json.dumps({"username": "bench", "password": "bench-pass-2024"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


def find_wrk() -> str | None:
    """wrk's path, installing it with apt-get when missing and we are root; None if unavailable."""
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        step("wrk not found: installing it (apt-get install wrk)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
        path = shutil.which("wrk")
    return path


def require_wrk() -> str:
    path = find_wrk()
    if not path:
        sys.exit("wrk is required for this benchmark: apt-get install wrk")
    return path


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 16,
    headers=(),
    script: str | None = None,
    timeout: int = 10,
) -> dict:
    """Run wrk (2 threads, like shared/perf-notes.md) and return req/s, p50/p99 ms and errors."""
    # --timeout: wrk's default (2 s) drops slower requests from the latency figures, hiding the
    # very tail this measures; they are counted as timeouts instead.
    cmd = [
        require_wrk(),
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        f"{timeout}s",
        "--latency",
    ]
    for header in headers:
        cmd += ["-H", header]
    script_file = None
    if script:
        script_file = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script_file.write(script)
        script_file.close()
        cmd += ["-s", script_file.name]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    if script_file:
        os.unlink(script_file.name)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    timeouts = re.search(r"timeout (\d+)", socket_errors.group(1)) if socket_errors else None
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(percentiles["50"]) if "50" in percentiles else None,
        "p90": _ms(percentiles["90"]) if "90" in percentiles else None,
        "p99": _ms(percentiles["99"]) if "99" in percentiles else None,
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
    }


def median_runs(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Interleaved wrk rounds per case -> the case's median req/s, p50 and p99, and its errors
    summed (this machine drifts between runs; the median of rounds run side by side is fair)."""
    return {
        name: {key: statistics.median(r[key] for r in rs) for key in ("rps", "p50", "p99")}
        | {"errors": sum(r["errors"] for r in rs)}
        for name, rs in runs.items()
    }


def rows_vs(figures: dict[str, dict], base: dict) -> list[list]:
    """Table rows of ``median_runs`` figures: case, req/s, p50, p99 and req/s vs ``base``."""
    return [
        [
            name,
            f"{r['rps']:.0f}",
            f"{r['p50']:.2f}",
            f"{r['p99']:.2f}",
            f"{r['rps'] / base['rps']:.3f}x",
        ]
        for name, r in figures.items()
    ]


def step(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
