"""Benchmark of the response cache (issues 4 and 14): ``make bench-cache``.

In one run, against a generated dataset (10,000 products in one organization) in a fresh
database (``erp_bench_cache``, provisioned and migrated like ``make migrate``) and a
redis-server the bench starts on a free port (the shared Redis is never touched):

1. ``GET /api/v1/products/`` with every cache disabled (uncached; measured first and last, the
   mean is the reference of the "vs caches disabled" columns);
2. on one gunicorn with the caches on and warm, in interleaved rounds (medians reported):
   - the bare baseline: ``/health/live/``, a trivial Django view (``JsonResponse``) behind the
     same middleware, served by the same gunicorn process in the same run;
   - the products list served from the response cache (a hit);
   the issue 14 target is the hit at >= 0.75x the trivial view's req/s;
3. the list after the bench kills redis-server (requests/s and errors: must be 0);
4. in-process: authorization cost per request (µs, wall and CPU) with the permission cache warm
   vs disabled, and the SQL queries a warm authorization runs (must be 0; target < 100 µs).

gunicorn is started like ``make run`` (``bench.common.gunicorn``: Procfile's command,
config/gunicorn.py) with sync workers on a free port; load comes from ``wrk -t2``.
The "gunicorn CPU ms/req" column is CPU time of the gunicorn master and workers divided by the
requests served: what a request costs the app server, whatever else loads the machine.

Options: ``--seconds`` per measurement (default 5), ``--rounds`` (3), ``--connections`` (16),
``--workers`` (gunicorn workers, 2), ``--products`` (10000). Figures are recorded with
``bench.results`` (family ``cache``).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from . import results
from .common import bench_env, create_database, gunicorn, print_table, step, wrk

DB_NAME = "erp_bench_cache"
ORG_SLUG = "bench"
LIST_PATH = "/api/v1/products/"
BARE_PATH = "/health/live/"
HIT_TARGET = 0.75  # issue 14: a hit at >= 0.75x the trivial view's throughput
AUTHZ_TARGET_US = 100.0  # issue 14: warm authorization under 100 µs, 0 queries


# --- dataset -------------------------------------------------------------------------------


def prepare_dataset(products: int) -> str:
    """``products`` products and a viewer in organization ``bench``; the viewer's API token."""
    from decimal import Decimal

    from django.db import connection
    from knox.models import AuthToken

    from api.v1.base_models.organization.models import Membership, Organization, Role
    from api.v1.base_models.user.tests.factories import UserFactory
    from api.v1.catalog.products.models import Product

    org, _ = Organization.objects.get_or_create(slug=ORG_SLUG, defaults={"name": "Bench"})
    step(f"generating {products} products")
    Product.objects.bulk_create(
        (
            Product(
                organization=org,
                sku=f"B-{i:06d}",
                name=f"Bench product {i}",
                price=Decimal(i % 997) + Decimal("0.99"),
                stock=100 + i % 50,
                custom_fields={"color": ["red", "green", "blue"][i % 3], "size": i % 5},
            )
            for i in range(products)
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:  # fresh statistics: the planner must use the pk index
        cursor.execute("ANALYZE products_product")
    user = UserFactory(username="bench-viewer")
    Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="viewer"))
    return AuthToken.objects.create(user=user)[1]


# --- in-process authorization cost ---------------------------------------------------------


def authorization_cost(user_id: int, iterations: int = 3000) -> dict[str, float]:
    """µs per ``resolve_organization_context`` call (wall and this process's CPU) and its SQL
    queries, with the permission cache disabled and warm."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from core.tenancy.resolver import resolve_organization_context

    user = get_user_model().objects.get(pk=user_id)
    figures = {}
    for label, enabled in (("uncached", False), ("cached", True)):
        with override_settings(PERMISSION_CACHE_ENABLED=enabled):
            resolve_organization_context(user, ORG_SLUG)  # warm (connection, cache)
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(iterations):
                resolve_organization_context(user, ORG_SLUG)
            figures[label] = (time.perf_counter() - wall) / iterations * 1e6
            figures[f"{label}_cpu"] = (time.process_time() - cpu) / iterations * 1e6
            with CaptureQueriesContext(connection) as queries:
                resolve_organization_context(user, ORG_SLUG)
            figures[f"{label}_queries"] = len(queries.captured_queries)
    assert settings.PERMISSION_CACHE_ENABLED
    return figures


# --- load ----------------------------------------------------------------------------------


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


def socket_errors(text: str) -> int:
    return sum(int(n) for n in re.findall(r"\d+", text))


def measure(server, path: str, headers: dict[str, str], args) -> dict:
    """wrk against ``server``: req/s, p50/p99 ms, errors and gunicorn CPU ms per request."""
    before = tree_cpu_seconds(server.process.pid)
    result = wrk(
        f"{server.base}{path}",
        seconds=args.seconds,
        connections=args.connections,
        headers=[f"{name}: {value}" for name, value in headers.items()],
    )
    cpu = tree_cpu_seconds(server.process.pid) - before
    result["errors"] += socket_errors(result["socket_errors"])
    result["cpu_ms"] = cpu / max(result["rps"] * args.seconds, 1) * 1000
    return result


def median_of(runs: list[dict]) -> dict:
    keys = ("rps", "p50", "p99", "cpu_ms")
    merged = {k: statistics.median(r[k] for r in runs if r[k] is not None) for k in keys}
    merged["errors"] = sum(r["errors"] for r in runs)
    merged["runs"] = [round(r["rps"]) for r in runs]
    return merged


def warm_up(port: int, headers: dict[str, str], workers: int) -> str:
    """Fill every worker's permission + response entries; the X-Cache of the last answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    state = ""
    for _ in range(workers * 4):
        conn.request("GET", LIST_PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"warm-up request failed: {response.status}")
        state = response.getheader("X-Cache", "")
    return state


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_DURATION", 5)))
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--products", type=int, default=10000)
    args = parser.parse_args()
    from core.testing.redis import RedisServer

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        try:
            create_database(DB_NAME)
            env = bench_env(
                DB_NAME,
                REDIS_URL=redis_server.url,
                CACHE_KEY_PREFIX="bench",
                LOG_LEVEL="ERROR",
                WEB_CONCURRENCY=str(args.workers),
            )
            os.environ.update(env)
            import django

            django.setup()
            token = prepare_dataset(args.products)
            headers = {"Authorization": f"Token {token}", "X-Organization": ORG_SLUG}
            uncached_env = {
                **env,
                "API_RESPONSE_CACHE_ENABLED": "false",
                "PERMISSION_CACHE_ENABLED": "false",
                "AUTH_TOKEN_CACHE_ENABLED": "false",
            }
            with gunicorn(uncached_env) as server:
                step("products list, caches disabled (1/2)")
                uncached = [measure(server, LIST_PATH, headers, args)]
            with gunicorn(env) as server:
                if warm_up(server.port, headers, args.workers) != "HIT":
                    raise RuntimeError("the warm list is not served from the cache")
                bare_runs, hit_runs = [], []
                for n in range(1, args.rounds + 1):
                    step(f"round {n}/{args.rounds}: trivial view, then cached list")
                    bare_runs.append(measure(server, BARE_PATH, {}, args))
                    hit_runs.append(measure(server, LIST_PATH, headers, args))
                from knox.crypto import hash_token
                from knox.models import AuthToken

                authz = authorization_cost(AuthToken.objects.get(digest=hash_token(token)).user_id)
                redis_server.stop()
                step("products list, Redis stopped")
                down = measure(server, LIST_PATH, headers, args)
            # The machine is shared: the uncached list again at the end, the mean is the
            # reference, so load drift doesn't bias the ratios.
            with gunicorn(uncached_env) as server:
                step("products list, caches disabled (2/2)")
                uncached.append(measure(server, LIST_PATH, headers, args))
        finally:
            redis_server.stop()

    figures = {
        "trivial Django view /health/live/ (baseline)": median_of(bare_runs),
        "products list, response cache hit": median_of(hit_runs),
        "products list, caches disabled": median_of(uncached),
        "products list, Redis stopped": median_of([down]),
    }
    results.record("cache", figures, baseline="trivial Django view /health/live/ (baseline)")
    return report(figures, authz, args)


def report(figures: dict, authz: dict, args) -> int:
    bare, hit, uncached, down = figures.values()
    print(
        f"\nbench.cache: GET {LIST_PATH} (page of 50 of {args.products} products), "
        f"wrk -t2 -c{args.connections} -d{args.seconds}s, gunicorn sync -w {args.workers}, "
        f"medians of {args.rounds} interleaved rounds"
    )
    rows = [
        [
            name,
            f"{f['rps']:,.0f}",
            " / ".join(str(r) for r in f["runs"]),
            f"{f['rps'] / bare['rps']:.2f}x",
            f"{f['rps'] / uncached['rps']:.2f}x",
            f"{f['p50']:.1f} / {f['p99']:.1f}",
            f"{f['cpu_ms']:.2f}",
            f["errors"],
        ]
        for name, f in figures.items()
    ]
    print_table(
        "",
        [
            "scenario",
            "req/s",
            "runs",
            "vs trivial view",
            "vs caches disabled",
            "p50 / p99 ms",
            "gunicorn CPU ms/req",
            "errors",
        ],
        rows,
    )
    print_table(
        "authorization (resolve_organization_context, in-process)",
        ["permission cache", "µs/request (wall)", "µs/request (CPU)", "SQL queries"],
        [
            [label, f"{authz[key]:.1f}", f"{authz[key + '_cpu']:.1f}", authz[key + "_queries"]]
            for label, key in (("disabled", "uncached"), ("warm", "cached"))
        ],
    )
    checks = {
        f"cache hit >= {HIT_TARGET}x the trivial view": hit["rps"] >= HIT_TARGET * bare["rps"],
        "cache hit >= 3x uncached": hit["rps"] >= 3 * uncached["rps"],
        f"warm authorization < {AUTHZ_TARGET_US:.0f} µs CPU": authz["cached_cpu"] < AUTHZ_TARGET_US,
        "warm authorization runs 0 queries": authz["cached_queries"] == 0,
        "0 errors with Redis stopped": down["errors"] == 0,
    }
    print(
        f"\nhit / trivial view: {hit['rps'] / bare['rps']:.2f}x req/s, "
        f"{bare['cpu_ms'] / hit['cpu_ms']:.2f}x CPU per request"
    )
    for name, ok in checks.items():
        print(f"target {'met   ' if ok else 'MISSED'}: {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
