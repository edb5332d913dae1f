"""Failover downtime (issue 10): seconds without a successful write when the primary dies.

One run, on throwaway clusters (never the shared server) and a private redis-server:

1. a primary (``initdb``), provisioned and migrated through libpq multi-host URLs
   (``...@127.0.0.1:<primary>,127.0.0.1:<standby>/erp?target_session_attrs=read-write``),
   a streaming standby (``pg_basebackup -R``), synchronous with ``remote_apply`` (RPO = 0);
2. gunicorn started as ``make run`` does on that URL; BENCH_CLIENTS threads (default 4) POST
   one-line orders back to back;
3. **baseline**: BENCH_SECONDS (default 5) of that load with no fault: the longest gap between
   two successful writes is what the same machine does anyway;
4. **failover**: the primary is stopped with ``pg_ctl stop -m immediate``, the standby is
   promoted with ``pg_ctl promote``; the load goes on until BENCH_SECONDS after the first
   write that succeeds again.

Printed and recorded (bench/results): orders/s, the longest time without a successful write,
how long after the promotion writes succeeded again, 503s, 5xx other than 503, and acknowledged
orders missing on the new primary (must be 0). Fails when any answer is a 500, an acknowledged
order is lost, or writes are not back within 10 s of the promotion.

Run: `make bench-failover` (or .venv/bin/python -m bench.failover).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from core.testing.pgcluster import ClusterError, ClusterSet, wait_until
from core.testing.redis import RedisServer

from . import results
from .common import bench_env, gunicorn, manage, print_table, step

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
RECOVERY_TARGET = 10.0
SYNCHRONOUS = "synchronous_standby_names = 'standby'\nsynchronous_commit = remote_apply\n"

SEED = """
import json
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from api.v1.base_models.organization.models import Membership, Organization, Role
from api.v1.catalog.products.models import Product
org = Organization.objects.create(name="Failover", slug="failover")
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-2024")
Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="admin"))
product = Product.objects.create(organization=org, sku="FO-1", name="Failover", price="1.00",
                                 stock=10**9)
print("SEED=" + json.dumps({"token": AuthToken.objects.create(user=user)[1], "org": org.slug,
                            "product": product.pk}))
"""


def post_order(base: str, headers: dict, body: bytes) -> tuple[int, int | None]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{base}/api/v1/orders/", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.load(response).get("id")
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


class Load:
    """CLIENTS threads placing orders; ``results`` holds (started, finished, status, id)."""

    def __init__(self, base: str, seed: dict):
        self.base = base
        self.headers = {
            "Authorization": f"Token {seed['token']}",
            "X-Organization": seed["org"],
            "Content-Type": "application/json",
        }
        self.body = json.dumps({"lines": [{"product": seed["product"], "quantity": 1}]}).encode()
        self.results: list[tuple[float, float, int, int | None]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            status, order_id = post_order(self.base, self.headers, self.body)
            self.results.append((started, time.monotonic(), status, order_id))
            if status != 201:
                time.sleep(0.02)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def summarize(rows, since: float, until: float) -> dict:
    window = [r for r in rows if since <= r[1] < until]  # by the time the answer came
    ok = sorted(r[1] for r in window if r[2] == 201)
    gaps = [b - a for a, b in zip([since, *ok], [*ok, until], strict=True)]
    return {
        "rps": round(len(ok) / (until - since), 1),
        "downtime_s": round(max(gaps), 3),
        "status_503": sum(1 for r in window if r[2] == 503),
        "other_errors": sum(1 for r in window if r[2] not in (201, 503)),
        "p50": None,
        "p99": None,
    }


def main() -> None:
    try:
        clusters = ClusterSet()
    except ClusterError as exc:
        sys.exit(str(exc))
    scratch = Path(tempfile.mkdtemp(prefix="erp-bench-failover-"))
    redis = RedisServer(scratch).start()
    try:
        run(clusters, redis)
    finally:
        redis.stop()
        clusters.close()
        shutil.rmtree(scratch, ignore_errors=True)


def run(clusters: ClusterSet, redis: RedisServer) -> None:
    step("initdb primary")
    primary = clusters.primary("primary")
    # The standby's port is taken now so the URLs name both hosts from the start.
    from core.testing.ports import free_port

    standby_port = free_port()
    hosts = f"127.0.0.1:{primary.port},127.0.0.1:{standby_port}"
    query = "?target_session_attrs=read-write"
    env = bench_env(
        "erp",
        DATABASE_URL=f"postgres://erp_app:erp_app_bench@{hosts}/erp{query}",
        DATABASE_OWNER_URL=f"postgres://erp_owner:erp_owner_bench@{hosts}/erp{query}",
        DATABASE_ADMIN_URL=f"postgres://postgres@{hosts}/postgres{query}",
        BACKUP_DATABASE_URL="",
        BACKUP_ADMIN_URL="",
        REDIS_URL=redis.url,
        WEB_CONCURRENCY="2",
    )
    step("provision_db + migrate through the multi-host URLs")
    manage(env, "provision_db")
    manage(env, "migrate", "--no-input", owner=True)
    seed = json.loads(manage(env, "shell", "-c", SEED).split("SEED=", 1)[1])
    step("pg_basebackup -R standby, synchronous (remote_apply)")
    standby = clusters.standby(
        primary, "standby", extra_config="synchronous_standby_names = ''\n", port=standby_port
    )
    primary.append_config(SYNCHRONOUS)
    primary.reload()

    def synchronous():
        with primary.connect() as conn:
            row = conn.execute(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'"
            ).fetchone()
        return row and row[0] == "sync"

    wait_until(synchronous, 60, "the standby to become synchronous")

    with gunicorn(env) as server, Load(server.base, seed) as load:
        step(f"baseline: {CLIENTS} clients placing orders for {SECONDS:g}s, no fault")
        wait_until(lambda: any(r[2] == 201 for r in load.results), 60, "a first order")
        base_start = time.monotonic()
        time.sleep(SECONDS)
        killed = time.monotonic()
        step("pg_ctl stop -m immediate (primary), pg_ctl promote (standby)")
        primary.stop("immediate")
        promote_started = time.monotonic()
        standby.promote()
        promoted = time.monotonic()

        def back():
            ok = [r[1] for r in list(load.results) if r[2] == 201 and r[0] > killed]
            return min(ok) if ok else None

        first_after = wait_until(back, 60, "a successful write after the promotion")
        time.sleep(SECONDS)
        end = time.monotonic()
    rows = list(load.results)
    figures = {
        "steady state, no fault (baseline)": summarize(rows, base_start, killed),
        "primary killed, standby promoted": {
            **summarize(rows, killed, end),
            "promote_s": round(promoted - promote_started, 3),
            "back_after_promotion_s": round(first_after - promoted, 3),
        },
    }
    last_before = max(r[1] for r in rows if r[2] == 201 and r[1] <= killed)
    figures["primary killed, standby promoted"]["downtime_s"] = round(first_after - last_before, 3)
    acknowledged = [r[3] for r in rows if r[2] == 201]
    with standby.connect("erp") as conn:
        stored = conn.execute(
            "SELECT count(*) FROM orders_order WHERE id = ANY(%s)", [acknowledged]
        ).fetchone()[0]
    lost = len(acknowledged) - stored
    figures["primary killed, standby promoted"]["lost_acknowledged"] = lost
    figures["steady state, no fault (baseline)"]["lost_acknowledged"] = 0

    table = []
    for name, f in figures.items():
        table.append(
            [
                name,
                f"{f['rps']:.1f}",
                f"{f['downtime_s']:.2f}",
                f.get("back_after_promotion_s", "-"),
                f["status_503"],
                f["other_errors"],
                f["lost_acknowledged"],
            ]
        )
    print_table(
        f"Failover downtime ({CLIENTS} clients placing orders; synchronous standby, remote_apply)",
        [
            "case",
            "orders/s",
            "longest s without a successful write",
            "writes back s after promote",
            "503",
            "other errors",
            "acknowledged orders lost",
        ],
        table,
    )
    results.record(
        "failover", figures, baseline="steady state, no fault (baseline)", unit="orders/s"
    )
    fault = figures["primary killed, standby promoted"]
    if fault["other_errors"] or lost or fault["back_after_promotion_s"] > RECOVERY_TARGET:
        raise SystemExit(
            f"target missed: {fault['other_errors']} non-503 errors, {lost} acknowledged orders "
            f"lost, writes back {fault['back_after_promotion_s']}s after promotion (<= 10 s)"
        )


if __name__ == "__main__":
    main()
