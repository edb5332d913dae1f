"""Adding the (organization, created_at) index under a continuous writer:
``CREATE INDEX CONCURRENTLY`` (what migration orders.0002 does) versus plain ``CREATE INDEX``,
next to the same writer with no index build (bare baseline), in the same run.

    .venv/bin/python -m bench.concurrent_index [--rows 1000000]

A writer thread alternates an INSERT of a new order and an UPDATE of a random one (autocommit,
no lock_timeout) and records every statement's latency and every failure. Reported: writes,
failed writes (must be 0), the longest write stall and p99. Creates and drops its own database.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from bench._pgdata import bench_db_name, fill_orders, setup_django, table

INDEX = "orders_order_org_created_idx"


class Writer(threading.Thread):
    def __init__(self, endpoint, dbname: str, org_ids: list[int], max_id: int, start_number: int):
        super().__init__(daemon=True)
        self.conn = endpoint.connect(dbname)
        self.org_ids, self.max_id, self.number = org_ids, max_id, start_number
        self.stop_event = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0

    def run(self):
        rng = random.Random(42)
        while not self.stop_event.is_set():
            for statement, params in (
                (
                    "INSERT INTO orders_order (created_at, updated_at, number, status, total, "
                    "metadata, organization_id) VALUES (now(), now(), %s, 'placed', 1, '{}', %s)",
                    [self._next_number(), rng.choice(self.org_ids)],
                ),
                (
                    "UPDATE orders_order SET total = total + 1, updated_at = now() WHERE id = %s",
                    [rng.randint(1, self.max_id)],
                ),
            ):
                started = time.monotonic()
                try:
                    self.conn.execute(statement, params)
                except Exception:
                    self.failures += 1
                self.latencies.append(time.monotonic() - started)

    def _next_number(self) -> int:
        self.number += 1
        return self.number

    def stop(self):
        self.stop_event.set()
        self.join()
        self.conn.close()


def scenario(endpoint, dbname, org_ids, max_id, start_number, build_sql: str | None):
    writer = Writer(endpoint, dbname, org_ids, max_id, start_number)
    writer.start()
    time.sleep(1.0)  # warm up
    build_seconds = 0.0
    with endpoint.connect(dbname) as ddl:
        started = time.monotonic()
        if build_sql:
            ddl.execute(build_sql)
        else:
            time.sleep(2.0)
        build_seconds = time.monotonic() - started
    time.sleep(0.5)
    writer.stop()
    with endpoint.connect(dbname) as ddl:
        ddl.execute(f"DROP INDEX IF EXISTS {INDEX}")
    lat = sorted(writer.latencies)
    p99 = lat[int(len(lat) * 0.99)] if lat else 0
    return {
        "build": build_seconds,
        "writes": len(lat),
        "failed": writer.failures,
        "max_ms": lat[-1] * 1000 if lat else 0,
        "p99_ms": p99 * 1000,
        "number": writer.number,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    dbname = bench_db_name("cidx")
    setup_django(dbname)

    from django.core.management import call_command
    from django.db import connections

    from core.db import server

    endpoint = server.admin_endpoint()
    server.create_database(dbname)
    try:
        call_command("migrate", verbosity=0)
        connections.close_all()
        with endpoint.connect(dbname) as conn:
            fill = fill_orders(conn, args.rows)
            conn.execute(f"DROP INDEX {INDEX}")
            org_ids = [r[0] for r in conn.execute("SELECT id FROM organizations_organization")]
            max_id, top = conn.execute("SELECT max(id), max(number) FROM orders_order").fetchone()
        print(f"generated {args.rows:,} orders in {fill:.1f}s", flush=True)
        number = top + 1_000_000
        columns = "ON orders_order (organization_id, created_at)"
        results = {}
        for name, sql in (
            ("writer alone (baseline)", None),
            ("CREATE INDEX CONCURRENTLY", f"CREATE INDEX CONCURRENTLY {INDEX} {columns}"),
            ("CREATE INDEX (plain)", f"CREATE INDEX {INDEX} {columns}"),
        ):
            print(f"running: {name}", flush=True)
            results[name] = scenario(endpoint, dbname, org_ids, max_id, number, sql)
            number = results[name]["number"] + 1_000_000
        base = results["writer alone (baseline)"]
        rows = [
            [
                name,
                f"{r['build']:.2f}" if name != "writer alone (baseline)" else "-",
                r["writes"],
                r["failed"],
                f"{r['max_ms']:.1f}",
                f"{r['max_ms'] / base['max_ms']:.1f}",
                f"{r['p99_ms']:.2f}",
            ]
            for name, r in results.items()
        ]
        print()
        print(f"{args.rows:,} orders; writer = INSERT + UPDATE loop, autocommit")
        print(
            table(
                ["scenario", "build s", "writes", "failed", "max stall ms", "x base", "p99 ms"],
                rows,
            )
        )
    finally:
        connections.close_all()
        server.drop_database(dbname)


if __name__ == "__main__":
    main()
