"""Tail latency under load, and the scaling curve (issue 14): ``make bench-tail``.

gunicorn is started as ``make run`` does (config/gunicorn.py) against 10 organizations x 1,000
products, with the caches on a private redis-server. In one run:

1. tail: a trivial Django view (``/health/live/``, the baseline) and the products list with the
   response cache warm, at ``wrk -c64`` and ``-c256`` (``--seconds``, default 30), 4 workers;
   the list once more at ``-c256`` with ``GUNICORN_MAX_REQUESTS=5000`` (the old default) so the
   cost of recycling workers is visible in the same run. Target: p99 <= 3x p50 for the list.
   Worker pids are compared before and after each run: "recycled" counts replaced workers.
2. scaling curve: list throughput and p99 at ``-w 1/2/4`` x ``-c 16/64/256``
   (``--curve-seconds``, default 10).

Figures go to bench/results (families ``tail`` and ``scaling``) and a table is printed.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import urllib.request
from pathlib import Path

from . import results
from .common import bench_env, create_database, drop_database, gunicorn, manage, print_table, step
from .common import wrk as run_wrk

DBNAME = "erp_bench_tail"
LIST = "/api/v1/products/"


def worker_pids(master_pid: int) -> set[int]:
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            pids.add(int(stat.parent.name))
    return pids


def warm(base: str, headers: list[str], workers: int) -> None:
    """Fill the response cache and every worker's per-process state before measuring."""
    request = urllib.request.Request(base + LIST, headers=dict(h.split(": ", 1) for h in headers))
    for _ in range(workers * 20):
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


def measure(server, path: str, headers, connections: int, seconds: int) -> dict:
    before = worker_pids(server.process.pid)
    figures = run_wrk(server.base + path, seconds=seconds, connections=connections, headers=headers)
    figures["recycled"] = len(before - worker_pids(server.process.pid))
    figures["p99/p50"] = round(figures["p99"] / figures["p50"], 2) if figures["p50"] else None
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=30, help="duration of each tail run")
    parser.add_argument("--curve-seconds", type=int, default=10, help="each scaling-curve run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (tail runs)")
    parser.add_argument("--no-curve", action="store_true", help="skip the scaling curve")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    from core.testing.redis import RedisServer

    with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmp:
        redis_server = RedisServer(Path(tmp)).start()
        try:
            create_database(DBNAME)
            env = bench_env(DBNAME, REDIS_URL=redis_server.url, CACHE_KEY_PREFIX="bench-tail")
            step("loading 10 organizations x 1,000 products")
            out = manage(env, "shell", "-c", "import bench.api_data as d; d.load()")
            values = dict(re.findall(r"(\w+)=(\S+)", out))
            headers = [
                f"Authorization: Token {values['TOKEN']}",
                f"X-Organization: {values['ORG']}",
            ]

            tail: dict[str, dict] = {}
            with gunicorn(dict(env, WEB_CONCURRENCY=str(args.workers))) as server:
                warm(server.base, headers, args.workers)
                for connections in (64, 256):
                    step(f"trivial view and list, -c{connections}, {args.seconds} s each")
                    tail[f"trivial view -c{connections} (baseline)"] = measure(
                        server, "/health/live/", (), connections, args.seconds
                    )
                    tail[f"list, cache warm -c{connections}"] = measure(
                        server, LIST, headers, connections, args.seconds
                    )
            step("list -c256 with GUNICORN_MAX_REQUESTS=5000 (the old default)")
            old = dict(env, WEB_CONCURRENCY=str(args.workers), GUNICORN_MAX_REQUESTS="5000")
            with gunicorn(old) as server:
                warm(server.base, headers, args.workers)
                tail["list, cache warm -c256, max_requests=5000"] = measure(
                    server, LIST, headers, 256, args.seconds
                )

            curve: dict[str, dict] = {}
            if not args.no_curve:
                for workers in (1, 2, 4):
                    with gunicorn(dict(env, WEB_CONCURRENCY=str(workers))) as server:
                        warm(server.base, headers, workers)
                        for connections in (16, 64, 256):
                            step(f"scaling curve: -w{workers} -c{connections}")
                            curve[f"-w{workers} -c{connections}"] = measure(
                                server, LIST, headers, connections, args.curve_seconds
                            )
        finally:
            redis_server.stop()
            if not args.keep:
                drop_database(DBNAME)

    columns = ["rps", "p50", "p90", "p99", "p99/p50", "timeouts", "errors", "recycled"]
    print_table(
        f"bench.tail: gunicorn sync -w{args.workers}, wrk -t2 --timeout 10s, {args.seconds} s",
        ["case", *columns],
        [[name, *(_cell(f.get(c)) for c in columns)] for name, f in tail.items()],
    )
    results.record("tail", tail, baseline="trivial view -c64 (baseline)")
    if curve:
        print_table(
            f"bench.tail scaling curve: products list (cache warm), {args.curve_seconds} s each",
            ["case", *columns],
            [[name, *(_cell(f.get(c)) for c in columns)] for name, f in curve.items()],
        )
        results.record("scaling", curve, baseline="-w1 -c16")

    ok = True
    for connections in (64, 256):
        ratio = tail[f"list, cache warm -c{connections}"]["p99/p50"]
        met = ratio is not None and ratio <= 3
        ok &= met
        print(f"target p99 <= 3x p50 at -c{connections}: {'met' if met else 'MISSED'} ({ratio}x)")
    return 0 if ok else 1


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
