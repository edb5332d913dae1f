"""PostgreSQL beyond one server (issue 10): read replicas and PgBouncer, ``make bench-db-scale``.

gunicorn is started as ``make run`` does (config/gunicorn.py), the response cache off so every
request reaches a database. In one run:

1. replicas: products-list req/s (``wrk -c16``) against a throwaway primary alone (the
   baseline) and the same primary plus one streaming replica (``pg_basebackup -R``) with
   ``DATABASE_REPLICA_URLS`` set, reads routed to it. The replica's own ``pg_stat_database``
   (``xact_commit``) shows how many transactions it served. On this one machine primary and
   replica share the same cores, so the figure shows the routing's cost, not a capacity gain:
   a replica on its own server adds that server's capacity.
2. PgBouncer: products-list and order req/s through a private PgBouncer (transaction mode,
   ``deploy/pgbouncer/pgbouncer.ini`` with ``default_pool_size`` = ``--pool``) vs direct, at
   ``wrk -c64`` and ``-c256``, ``--workers`` gunicorn workers (default 16: more processes than
   pool slots, the case PgBouncer is for). ``server conns`` is the most PostgreSQL backends of
   the bench database seen in ``pg_stat_activity`` (sampled every 20 ms) during the run.

Figures go to bench/results (families ``db_replicas`` and ``db_pgbouncer``).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading

import psycopg

from core.testing.pgbouncer import PgBouncer, pgbouncer_binary

from . import results
from .common import (
    ADMIN_URL,
    bench_env,
    create_database,
    drop_database,
    gunicorn,
    login,
    manage,
    print_table,
    step,
    wrk,
)

DBNAME = "erp_bench_dbscale"
PRODUCTS = 1000
LIST = "/api/v1/products/"

LOAD = f"""
from django.contrib.auth import get_user_model
from django.db import connection
from api.v1.base_models.organization.models import Membership, Organization, Role
org = Organization.objects.create(name="Scale", slug="scale")
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-2024")
Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="admin"))
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO products_product (organization_id, sku, name, price, stock, custom_fields,"
        " created_at, updated_at) SELECT %s, 'SKU-' || g, 'Product ' || g, 9.99, 1000000000,"
        " '{{}}', now(), now() FROM generate_series(1, {PRODUCTS}) g RETURNING id", [org.pk])
    first = min(r[0] for r in cursor.fetchall())
    cursor.execute("ANALYZE")
print("FIRST=" + str(first))
"""

ORDER_SCRIPT = """
wrk.method = "POST"
request = function()
  local product = {first} + math.random(0, {products} - 1)
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Token {token}"
  headers["X-Organization"] = "scale"
  return wrk.format(nil, nil, headers, '{{"lines":[{{"product":' .. product .. ',"quantity":1}}]}}')
end
"""


class BackendSampler(threading.Thread):
    """The most client backends connected to ``dbname`` seen while running (every 20 ms)."""

    def __init__(self, url: str, dbname: str):
        super().__init__(daemon=True)
        self.url, self.dbname, self.peak, self.stop = url, dbname, 0, threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    [self.dbname],
                ).fetchone()
                self.peak = max(self.peak, count)

    def __enter__(self) -> BackendSampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join()


def headers(token: str) -> list[str]:
    return [f"Authorization: Token {token}", "X-Organization: scale"]


def replica_figures(seconds: int, workers: int) -> dict[str, dict]:
    from core.testing.pgcluster import ClusterSet, wait_until

    figures: dict[str, dict] = {}
    with ClusterSet() as clusters:
        step("throwaway primary (initdb) with the bench database")
        primary = clusters.primary(extra_config="max_connections = 100\n")
        with primary.connect() as conn:
            conn.execute(f'CREATE DATABASE "{DBNAME}"')
        dump = subprocess.run(
            [str(clusters.bindir / "pg_dump"), "--format=custom", f"{ADMIN_URL.rsplit('/', 1)[0]}/{DBNAME}"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        subprocess.run(
            [str(clusters.bindir / "pg_restore"), "--no-owner", "--no-acl", "--exit-on-error",
             f"--dbname={primary.url(DBNAME)}"],
            input=dump, capture_output=True, check=True,
        )  # fmt: skip
        step("streaming replica (pg_basebackup -R)")
        standby = clusters.standby(primary)

        def caught_up() -> bool:
            with primary.connect() as p, standby.connect() as s:
                lsn = p.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
                return s.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(lsn)]
                ).fetchone()[0]

        wait_until(caught_up, 60, "the replica to catch up")
        cases = (
            ("primary alone (baseline)", {}),
            ("primary + 1 replica, reads routed", {"DATABASE_REPLICA_URLS": standby.url(DBNAME)}),
        )
        for name, extra in cases:
            env = bench_env(
                DBNAME,
                DATABASE_URL=primary.url(DBNAME),
                API_RESPONSE_CACHE_ENABLED="false",
                WEB_CONCURRENCY=str(workers),
                **extra,
            )
            with gunicorn(env, timeout=180) as server:
                token = login(server.base)
                wrk(f"{server.base}{LIST}", seconds=2, connections=4, headers=headers(token))
                step(f"{name}: wrk -c16 {LIST} for {seconds}s")
                before = served(standby)
                figures[name] = wrk(
                    f"{server.base}{LIST}", seconds=seconds, connections=16, headers=headers(token)
                )
                figures[name]["replica_xacts"] = served(standby) - before
    return figures


def served(standby) -> int:
    with standby.connect(DBNAME) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", [DBNAME]
        ).fetchone()[0]


def pgbouncer_figures(seconds: int, workers: int, pool: int, first: int) -> dict[str, dict]:
    figures: dict[str, dict] = {}
    bouncer = PgBouncer(
        "127.0.0.1",
        5432,
        users=("erp_app", "postgres"),
        databases={DBNAME: f"host=127.0.0.1 port=5432 dbname={DBNAME}"},
        settings={"default_pool_size": pool, "min_pool_size": 0, "reserve_pool_size": 0},
    ).start()
    try:
        routes = (
            ("direct", {}),
            (
                f"PgBouncer (pool {pool})",
                {
                    "DATABASE_URL": f"postgres://erp_app:erp_app_dev@127.0.0.1:{bouncer.port}/{DBNAME}",
                    "DB_PGBOUNCER": "true",
                },
            ),
        )
        for route, extra in routes:
            env = bench_env(
                DBNAME, API_RESPONSE_CACHE_ENABLED="false", WEB_CONCURRENCY=str(workers), **extra
            )
            with gunicorn(env, timeout=180) as server:
                token = login(server.base)
                wrk(f"{server.base}{LIST}", seconds=2, connections=8, headers=headers(token))
                script = ORDER_SCRIPT.format(first=first, products=PRODUCTS, token=token)
                for what in ("list", "orders"):
                    for connections in (64, 256):
                        name = f"{what}, {route}, -c{connections}"
                        step(f"{name}: wrk for {seconds}s ({workers} gunicorn workers)")
                        with BackendSampler(ADMIN_URL, DBNAME) as sampler:
                            if what == "list":
                                result = wrk(
                                    f"{server.base}{LIST}",
                                    seconds=seconds,
                                    connections=connections,
                                    headers=headers(token),
                                )
                            else:
                                result = wrk(
                                    f"{server.base}/api/v1/orders/",
                                    seconds=seconds,
                                    connections=connections,
                                    script=script,
                                )
                        result["server_connections"] = sampler.peak
                        figures[name] = result
    finally:
        bouncer.admin(f"KILL {DBNAME}")
        bouncer.cleanup()
    return figures


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--workers", type=int, default=16, help="gunicorn workers (PgBouncer)")
    parser.add_argument("--pool", type=int, default=4, help="PgBouncer default_pool_size")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    if pgbouncer_binary() is None:
        sys.exit(
            "pgbouncer is required: bash scripts/install_test_tools.sh (apt-get install pgbouncer)"
        )

    create_database(DBNAME)
    env = bench_env(DBNAME)
    step(f"loading 1 organization x {PRODUCTS} products")
    first = int(re.search(r"FIRST=(\d+)", manage(env, "shell", "-c", LOAD)).group(1))

    replicas = replica_figures(args.seconds, 4)
    base = replicas["primary alone (baseline)"]["rps"]
    print_table(
        f"Products list, wrk -c16 {args.seconds}s, 4 gunicorn workers, one machine",
        ["case", "req/s", "p50 ms", "p99 ms", "x primary alone", "non-2xx", "replica xacts"],
        [
            [
                name,
                f"{r['rps']:.0f}",
                _ms(r["p50"]),
                _ms(r["p99"]),
                f"{r['rps'] / base:.2f}x" if base else "-",
                r["errors"] + r["timeouts"],
                r["replica_xacts"],
            ]
            for name, r in replicas.items()
        ],
    )
    results.record("db_replicas", replicas, baseline="primary alone (baseline)")

    bounced = pgbouncer_figures(args.seconds, args.workers, args.pool, first)
    results.record("db_pgbouncer", bounced, baseline="list, direct, -c64")
    rows = []
    for name, r in bounced.items():
        direct = bounced[re.sub(r", PgBouncer \(pool \d+\), ", ", direct, ", name)]["rps"]
        rows.append(
            [
                name,
                f"{r['rps']:.0f}",
                _ms(r["p50"]),
                _ms(r["p99"]),
                f"{r['rps'] / direct:.2f}x" if direct else "-",
                r["errors"] + r["timeouts"],
                r["server_connections"],
            ]
        )
    print_table(
        f"PgBouncer vs direct ({args.workers} gunicorn workers, {args.seconds}s each)",
        ["case", "req/s", "p50 ms", "p99 ms", "x direct", "non-2xx+timeouts", "server conns"],
        rows,
    )
    if not args.keep:
        drop_database(DBNAME)


if __name__ == "__main__":
    main()
