"""Server time to render the operations page: ``.venv/bin/python -m bench.ops``.

Against a database the bench creates (``erp_bench_ops``, dev settings with DEBUG off) and two
throwaway redis-servers (caches; broker), gunicorn started like ``make run``, a staff session:

1. every component up: ``GET /ops/`` (server-rendered page) and ``GET /ops/data/`` (the JSON
   the page polls), wall time over loopback and the server's own ``render_ms``;
2. the cache Redis killed (connection refused);
3. the cache Redis frozen with SIGSTOP (accepts nothing, answers nothing: a hung backend), where
   only the deadlines (``HEALTH_CHECK_TIMEOUT``, 1 s; Redis socket timeouts) bound the page.

Baseline: ``/health/ready/`` (readiness alone) in the same runs. Target: under 300 ms with
everything up; bounded by the health deadline with one component down.

Environment: BENCH_ROUNDS (requests per measurement, default 15), DATABASE_ADMIN_URL.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from core.testing.redis import RedisServer

from . import results
from .common import bench_env, create_database, drop_database, gunicorn, manage, print_table, step

DB = "erp_bench_ops"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
DEADLINE = 1.0  # HEALTH_CHECK_TIMEOUT of the run

SESSION_SCRIPT = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
user, _ = User.objects.get_or_create(username="bench-ops", defaults={"is_staff": True})
s = SessionStore()
s["_auth_user_id"] = str(user.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = user.get_session_auth_hash()
s.create()
print(s.session_key)
"""


def _get(url: str, session: str) -> tuple[float, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def measure(base: str, session: str) -> dict[str, list[float]]:
    out = {"page": [], "data": [], "data_render": [], "ready": []}
    for _ in range(ROUNDS):
        out["page"].append(_get(f"{base}/ops/", session)[0])
        ms, body = _get(f"{base}/ops/data/", session)
        out["data"].append(ms)
        out["data_render"].append(json.loads(body)["render_ms"])
        try:
            out["ready"].append(_get(f"{base}/health/ready/", session)[0])
        except urllib.error.HTTPError:  # 503 still took its time
            out["ready"].append(float("nan"))
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(v for v in values if v == v)  # NaN (a 503) left out
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def _figures(samples: dict[str, list[float]]) -> dict:
    return {
        "rps": round(1000 / statistics.median(samples), 1),
        "p50": round(_pct(samples, 0.5), 1),
        "p99": round(max(samples), 1),
    }


def _row(name: str, samples: dict[str, list[float]]) -> list:
    def med(values):
        return f"{_pct(values, 0.5):.0f}"

    def p95(values):
        return f"{_pct(values, 0.95):.0f}"

    return [
        name,
        med(samples["page"]),
        p95(samples["page"]),
        med(samples["data"]),
        med(samples["data_render"]),
        med(samples["ready"]),
    ]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    (tmp / "cache").mkdir()
    (tmp / "broker").mkdir()
    cache = RedisServer(tmp / "cache").start()
    broker = RedisServer(tmp / "broker").start()
    try:
        create_database(DB)
        env = bench_env(
            DB,
            REDIS_URL=cache.url,
            REDIS_BROKER_URL=broker.url_for(3),
            REDIS_RESULT_URL=broker.url_for(4),
            BACKUP_DIR=str(tmp / "backups"),
            MEDIA_ROOT=str(tmp / "media"),
            WEB_CONCURRENCY="2",
            HEALTH_CHECK_TIMEOUT=str(DEADLINE),
        )
        session = manage(env, "shell", "-c", SESSION_SCRIPT).strip().splitlines()[-1]
        rows, figures, runs = [], {}, {}
        with gunicorn(env) as server:
            step("warming up")
            measure(server.base, session)
            step(f"all components up ({ROUNDS} rounds)")
            runs["all up"] = measure(server.base, session)
            step("cache Redis frozen (SIGSTOP: a hung backend)")
            os.kill(cache.process.pid, signal.SIGSTOP)
            try:
                runs["cache Redis hung"] = measure(server.base, session)
            finally:
                os.kill(cache.process.pid, signal.SIGCONT)
            step("cache Redis killed (connection refused)")
            cache.stop()
            runs["cache Redis down"] = measure(server.base, session)
        for state, samples in runs.items():
            rows.append(_row(state, samples))
            figures[f"/health/ready/ ({state})"] = _figures(samples["ready"])
            figures[f"/ops/ ({state})"] = _figures(samples["page"])
            figures[f"/ops/data/ ({state})"] = _figures(samples["data"])
        results.record("ops", figures, baseline="/health/ready/ (all up)", unit="pages/s")
        print_table(
            "GET /ops/ server time (ms over loopback; HEALTH_CHECK_TIMEOUT 1 s)",
            [
                "state",
                "/ops/ median",
                "/ops/ p95",
                "/ops/data/ median",
                "render_ms",
                "/health/ready/",
            ],
            rows,
        )
        up = statistics.median(runs["all up"]["page"])
        worst = max(max(r["page"]) for r in runs.values())
        bound = 1000 * (DEADLINE + 1.5) + 300  # the panels' deadline + the all-up budget
        print(f"\ntarget: all up median {up:.0f} ms < 300 ms: {'OK' if up < 300 else 'MISSED'}")
        print(
            f"target: worst page {worst:.0f} ms < {bound:.0f} ms: {'OK' if worst < bound else 'MISSED'}"
        )
        if up >= 300 or worst >= bound:
            raise SystemExit(1)
    finally:
        cache.stop()
        broker.stop()
        drop_database(DB)


if __name__ == "__main__":
    main()
