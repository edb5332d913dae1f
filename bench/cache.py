"""Benchmark of issue 4 (Redis caching): ``.venv/bin/python -m bench.cache``.

In one run, against a generated dataset (10,000 products in one organization) in a database the
bench creates (``erp_bench_cache``, as the PostgreSQL superuser of DATABASE_ADMIN_URL) and a
redis-server it starts on a free port (the shared Redis is never touched):

1. bare baseline: ``/health/live/`` (a trivial Django view) through the same gunicorn;
2. ``GET /api/v1/products/`` with both caches disabled (uncached; measured first and last, the
   mean is the reference of every ratio);
3. the same with the caches on and warm;
4. the same after the bench kills redis-server (requests/s and errors: must be 0);
5. in-process: authorization cost per request (µs) with the permission cache warm vs disabled,
   and the SQL queries a warm authorization runs (must be 0).

gunicorn is started like ``make run`` (Procfile: ``gunicorn config.wsgi --config
config/gunicorn.py``) with sync workers on a free port. Load comes from ``wrk`` (installed with
apt-get when missing and we are root), else from a small Python keep-alive load generator.
Server start and wrk come from ``bench.common`` (shared with bench/api.py).

Environment: BENCH_DURATION (seconds per measurement, default 5), BENCH_CONNECTIONS (16),
BENCH_WORKERS (gunicorn workers, 2), BENCH_PRODUCTS (10000), DATABASE_ADMIN_URL.
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .common import Server, find_wrk, gunicorn

DB_NAME = "erp_bench_cache"
DURATION = int(os.environ.get("BENCH_DURATION", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "10000"))
ADMIN_URL = os.environ.get("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ORG_SLUG = "bench"
LIST_PATH = "/api/v1/products/"


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- processes -----------------------------------------------------------------------------


# --- load ----------------------------------------------------------------------------------


def load_wrk(wrk: str, port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    args = [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return rps, errors


def load_python(port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    """Fallback: CONNECTIONS keep-alive clients in threads (slower than wrk; same for all rows)."""
    stop = time.monotonic() + DURATION
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        ok = errors = 0
        while time.monotonic() < stop:
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok, errors = (ok + 1, errors) if response.status < 400 else (ok, errors + 1)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with lock:
            counts["ok"] += ok
            counts["errors"] += errors

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (counts["ok"] + counts["errors"]) / DURATION, counts["errors"]


# --- dataset -------------------------------------------------------------------------------


def database_url() -> str:
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def create_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
            log(f"created database {DB_NAME}")


def prepare_dataset() -> str:
    """Migrate, then (once) 10k products and a viewer; returns the viewer's API token."""
    from decimal import Decimal

    from django.core.management import call_command
    from knox.models import AuthToken

    from api.v1.base_models.organization.models import Membership, Organization, Role
    from api.v1.base_models.user.tests.factories import UserFactory
    from api.v1.catalog.products.models import Product

    call_command("migrate", verbosity=0)
    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench"})
    have = Product.objects.filter(organization=org).count()
    if have < PRODUCTS:
        log(f"generating {PRODUCTS - have} products")
        Product.objects.bulk_create(
            Product(
                organization=org,
                sku=f"B-{i:06d}",
                name=f"Bench product {i}",
                price=Decimal(i % 997) + Decimal("0.99"),
                stock=100 + i % 50,
                custom_fields={"color": ["red", "green", "blue"][i % 3], "size": i % 5},
            )
            for i in range(have, PRODUCTS)
        )
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics: the planner must use the pk index
        cursor.execute("ANALYZE products_product")
    membership = Membership.objects.filter(organization=org, role__name="viewer").first()
    if membership is None:
        user = UserFactory(username="bench-viewer")
        membership = Membership.objects.create(
            user=user, organization=org, role=Role.objects.get(name="viewer")
        )
    return AuthToken.objects.create(user=membership.user)[1]


# --- in-process authorization cost ---------------------------------------------------------


def authorization_cost(user_id: int, iterations: int = 3000) -> dict[str, float]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from core.tenancy.resolver import resolve_organization_context

    user = get_user_model().objects.get(pk=user_id)
    results = {}
    for label, enabled in (("uncached", False), ("cached", True)):
        with override_settings(PERMISSION_CACHE_ENABLED=enabled):
            resolve_organization_context(user, ORG_SLUG)  # warm (connection, cache)
            started = time.perf_counter()
            for _ in range(iterations):
                resolve_organization_context(user, ORG_SLUG)
            results[label] = (time.perf_counter() - started) / iterations * 1e6
            with CaptureQueriesContext(connection) as queries:
                resolve_organization_context(user, ORG_SLUG)
            results[f"{label}_queries"] = len(queries.captured_queries)
    assert settings.PERMISSION_CACHE_ENABLED
    return results


# --- main ----------------------------------------------------------------------------------


def tree_cpu_seconds(root: int) -> float:
    """CPU time (user+sys) of ``root``, its live children and its reaped children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == root:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif ppid == root:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class Measure:
    """Runs the load against a server and records req/s, errors and gunicorn CPU per request
    (the CPU column is what a request costs the app server, whatever else loads the machine)."""

    def __init__(self, load):
        self.load = load
        self.rows: list[tuple[str, float, int, float]] = []

    def __call__(self, name: str, server: Server, path: str, headers: dict) -> tuple:
        log(name)
        before = tree_cpu_seconds(server.process.pid)
        rps, errors = self.load(server.port, path, headers)
        cpu = tree_cpu_seconds(server.process.pid) - before
        row = (name, rps, errors, cpu / max(rps * DURATION, 1) * 1000)
        self.rows.append(row)
        return row


def main() -> int:
    from core.testing.redis import RedisServer

    wrk = find_wrk()
    measure = Measure((lambda *a: load_wrk(wrk, *a)) if wrk else load_python)
    tool = f"wrk -t2 -c{CONNECTIONS} -d{DURATION}s" if wrk else f"python x{CONNECTIONS}"

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        try:
            create_database()
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.dev",
                "DEBUG": "false",
                "DATABASE_URL": database_url(),
                "REDIS_URL": redis_server.url,
                "CACHE_KEY_PREFIX": "bench",
                "LOG_LEVEL": "ERROR",
                "GUNICORN_ACCESSLOG": "",
            }
            os.environ.update(env)
            import django

            django.setup()
            token = prepare_dataset()
            headers = {"Authorization": f"Token {token}", "X-Organization": ORG_SLUG}
            uncached_env = {
                **env,
                "API_RESPONSE_CACHE_ENABLED": "false",
                "PERMISSION_CACHE_ENABLED": "false",
                "AUTH_TOKEN_CACHE_ENABLED": "false",
            }
            with gunicorn({**uncached_env, "WEB_CONCURRENCY": str(WORKERS)}) as server:
                measure("bare: trivial Django view /health/live/", server, "/health/live/", {})
                first = measure("products list, caches disabled", server, LIST_PATH, headers)
            with gunicorn({**env, "WEB_CONCURRENCY": str(WORKERS)}) as server:
                load_python_once(server.port, headers)
                measure("products list, caches warm", server, LIST_PATH, headers)
                from knox.crypto import hash_token
                from knox.models import AuthToken

                authz = authorization_cost(AuthToken.objects.get(digest=hash_token(token)).user_id)
                redis_server.stop()
                measure("products list, Redis stopped", server, LIST_PATH, headers)
            # The machine is shared: measure the uncached list again at the end and use the mean
            # of both runs as the reference, so load drift doesn't bias the ratios.
            with gunicorn({**uncached_env, "WEB_CONCURRENCY": str(WORKERS)}) as server:
                again = measure("products list, caches disabled", server, LIST_PATH, headers)
        finally:
            redis_server.stop()

    rows = measure.rows
    rows.remove(again)
    rows[1] = (
        f"products list, caches disabled (mean of {first[1]:.0f} and {again[1]:.0f} req/s)",
        (first[1] + again[1]) / 2,
        first[2] + again[2],
        (first[3] + again[3]) / 2,
    )
    print_report(rows, authz, tool)
    uncached, warm = rows[1], rows[2]
    ok = warm[1] >= 3 * uncached[1] and authz["cached_queries"] == 0 and rows[3][2] == 0
    return 0 if ok else 1


def load_python_once(port: int, headers: dict[str, str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(WORKERS * 2):  # every worker: permission + response entries
        conn.request("GET", LIST_PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"warm-up request failed: {response.status}")


def print_report(rows, authz, tool: str) -> None:
    uncached = rows[1]
    print(f"\nbench.cache: GET {LIST_PATH} (page of 50 of {PRODUCTS} products), {tool}, ")
    print(f"gunicorn sync -w {WORKERS}\n")
    print(
        "| scenario | req/s | vs caches disabled | errors | gunicorn CPU ms/req "
        "| vs caches disabled (CPU) |\n|---|---:|---:|---:|---:|---:|"
    )
    for name, rps, errors, cpu in rows:
        print(
            f"| {name} | {rps:,.0f} | {rps / uncached[1]:.2f}x | {errors} | {cpu:.2f} "
            f"| {uncached[3] / cpu:.2f}x |"
        )
    print(
        "\n| authorization (resolve_organization_context, in-process) | µs/request | SQL queries |"
    )
    print("|---|---:|---:|")
    print(f"| permission cache disabled | {authz['uncached']:.1f} | {authz['uncached_queries']} |")
    print(f"| permission cache warm | {authz['cached']:.1f} | {authz['cached_queries']} |")
    warm = rows[2]
    print(
        f"\ntargets: warm >= 3x uncached req/s: "
        f"{'met' if warm[1] >= 3 * uncached[1] else 'MISSED'} ({warm[1] / uncached[1]:.1f}x; "
        f"CPU per request {uncached[3] / warm[3]:.1f}x less); zero authorization queries warm: "
        f"{'met' if authz['cached_queries'] == 0 else 'MISSED'}; "
        f"errors with Redis stopped: {rows[3][2]}"
    )


if __name__ == "__main__":
    sys.exit(main())
