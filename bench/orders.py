"""Order placement throughput (issue 14): one organization and ten, next to pgbench.

Starts gunicorn exactly as `make run` does against a fresh database (10 organizations x 200
products with ample stock) and POSTs one-line orders for random products with wrk (-t2 -c16):

- one organization: every order queues on that organization's order-number counter row;
- ten organizations: each request picks one at random;
- pgbench's built-in tpcb-like transaction on the same PostgreSQL, same concurrency (-c16 -j2),
  in the same run: the bare baseline (what this machine's PostgreSQL does with a short
  read-modify-write transaction).

While each order run is under way it samples ``pg_stat_activity`` of the bench database every
20 ms and prints where the server backends spent their time (wait events), which is how the
lock convoy on the counter row shows up (``Lock/transactionid``, ``Lock/tuple``).

Run: `make bench-orders` (or .venv/bin/python -m bench.orders [--seconds N]).
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import threading

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

DBNAME = "erp_bench_orders"
PGBENCH_DB = "erp_bench_pgbench"
ORGANIZATIONS = 10
PRODUCTS = 200
CONNECTIONS = 16

ORDER_SCRIPT = """
wrk.method = "POST"
local orgs = {{{orgs}}}
local first = {{{firsts}}}
local count = {count}
request = function()
  local i = math.random(1, count)
  local product = first[i] + math.random(0, {products} - 1)
  local headers = {{}}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Token {token}"
  headers["X-Organization"] = orgs[i]
  return wrk.format(nil, nil, headers, '{{"lines":[{{"product":' .. product .. ',"quantity":1}}]}}')
end
"""

LOAD = f"""
from django.contrib.auth import get_user_model
from django.db import connection
from api.v1.base_models.organization.models import Membership, Organization, Role
orgs = Organization.objects.bulk_create(
    Organization(name=f"Orders {{i}}", slug=f"orders-{{i}}") for i in range({ORGANIZATIONS}))
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-2024")
admin = Role.objects.get(name="admin")
firsts = []
with connection.cursor() as cursor:
    for org in orgs:
        Membership.objects.create(user=user, organization=org, role=admin)
        cursor.execute(
            "INSERT INTO products_product (organization_id, sku, name, price, stock, custom_fields,"
            " created_at, updated_at) SELECT %s, 'SKU-' || g, 'Product ' || g, 9.99, 1000000000,"
            " '{{}}', now(), now() FROM generate_series(1, {PRODUCTS}) g RETURNING id", [org.pk])
        firsts.append(min(r[0] for r in cursor.fetchall()))
    cursor.execute("ANALYZE")
print("ORGS=" + ",".join(o.slug for o in orgs), "FIRSTS=" + ",".join(map(str, firsts)))
"""


class WaitSampler(threading.Thread):
    """Counts (wait_event_type/wait_event or CPU/state) of the database's active backends."""

    def __init__(self, dbname: str):
        super().__init__(daemon=True)
        self.dbname, self.counts, self.stop = dbname, collections.Counter(), threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                for wait_type, wait, state in conn.execute(
                    "SELECT wait_event_type, wait_event, state FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend' AND pid <> "
                    "pg_backend_pid()",
                    [self.dbname],
                ):
                    if state == "idle":
                        continue
                    key = f"{wait_type}/{wait}" if wait_type else f"CPU ({state})"
                    self.counts[key] += 1

    def breakdown(self) -> str:
        total = sum(self.counts.values()) or 1
        top = self.counts.most_common(5)
        return ", ".join(f"{k} {v * 100 / total:.0f}%" for k, v in top)


def pgbench(seconds: int) -> dict:
    url = ADMIN_URL.rsplit("/", 1)[0]
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-c", f"DROP DATABASE IF EXISTS {PGBENCH_DB}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-c", f"CREATE DATABASE {PGBENCH_DB}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["pgbench", "-i", "-q", "-s", "10", f"{url}/{PGBENCH_DB}"], check=True, capture_output=True
    )
    out = subprocess.run(
        ["pgbench", "-c", str(CONNECTIONS), "-j", "2", "-T", str(seconds), f"{url}/{PGBENCH_DB}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subprocess.run(
        ["psql", ADMIN_URL, "-q", "-c", f"DROP DATABASE IF EXISTS {PGBENCH_DB}"],
        check=True,
        capture_output=True,
    )
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    return {"rps": tps, "p50": latency, "p99": None, "errors": 0}


def order_script(token: str, slugs: list[str], firsts: list[int]) -> str:
    return ORDER_SCRIPT.format(
        orgs=",".join(f'"{s}"' for s in slugs),
        firsts=",".join(map(str, firsts)),
        count=len(slugs),
        products=PRODUCTS,
        token=token,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    create_database(DBNAME)
    env = bench_env(DBNAME, API_RESPONSE_CACHE_ENABLED="false")
    step(f"loading {ORGANIZATIONS} organizations x {PRODUCTS} products")
    out = manage(env, "shell", "-c", LOAD)
    values = dict(re.findall(r"(\w+)=(\S+)", out))
    slugs, firsts = values["ORGS"].split(","), [int(x) for x in values["FIRSTS"].split(",")]

    rows, figures = [], {}
    step(f"pgbench tpcb-like, -c{CONNECTIONS} -j2, {args.seconds}s (scale 10)")
    figures["pgbench tpcb-like (baseline)"] = base = pgbench(args.seconds)
    with gunicorn(env) as server:
        token = login(server.base)
        wrk(
            f"{server.base}/api/v1/orders/",
            seconds=2,
            connections=4,
            script=order_script(token, slugs[:1], firsts[:1]),
        )  # warm-up
        for name, count in (("orders, 1 organization", 1), ("orders, 10 organizations", 10)):
            step(f"{name}: wrk -t2 -c{CONNECTIONS} for {args.seconds}s")
            sampler = WaitSampler(DBNAME)
            sampler.start()
            figures[name] = wrk(
                f"{server.base}/api/v1/orders/",
                seconds=args.seconds,
                connections=CONNECTIONS,
                script=order_script(token, slugs[:count], firsts[:count]),
            )
            sampler.stop.set()
            sampler.join()
            figures[name]["waits"] = sampler.breakdown()
    check = manage(
        env,
        "shell",
        "-c",
        "from django.db import connection\n"
        "c = connection.cursor()\n"
        "c.execute('SELECT count(*) FROM products_product WHERE stock < 0'); print('OVERSOLD', c.fetchone()[0])\n"
        "c.execute('SELECT count(*) FROM (SELECT organization_id, count(*) n, max(number) m"
        " FROM orders_order GROUP BY 1) s WHERE n <> m'); print('GAPPY', c.fetchone()[0])\n",
    )
    checks = dict(re.findall(r"(\w+) (\d+)", check))
    for name, r in figures.items():
        rows.append(
            [
                name,
                f"{r['rps']:.0f}",
                f"{r['p50']:.1f}",
                "-" if r["p99"] is None else f"{r['p99']:.1f}",
                f"{r['rps'] / base['rps']:.3f}x",
                r["errors"],
                r.get("waits", ""),
            ]
        )
    print_table(
        f"Order placement (wrk/pgbench -c{CONNECTIONS}, {args.seconds}s each; pgbench p50 column is"
        " its average latency)",
        ["case", "req/s", "p50 ms", "p99 ms", "x pgbench", "non-2xx", "server backends' time"],
        rows,
    )
    print(f"\noversold products: {checks['OVERSOLD']}; organizations with gaps: {checks['GAPPY']}")
    results.record("orders", figures, baseline="pgbench tpcb-like (baseline)")
    if not args.keep:
        drop_database(DBNAME)
    ratio = figures["orders, 1 organization"]["rps"] / base["rps"]
    failed = sum(r["errors"] for r in figures.values())
    if ratio < 0.10 or failed or int(checks["OVERSOLD"]) or int(checks["GAPPY"]):
        raise SystemExit(f"target missed: {ratio:.3f}x pgbench (>= 0.10x), {failed} failed orders")


if __name__ == "__main__":
    main()
