"""Cost of the request metrics (issue 12): products-list throughput with
``REQUEST_METRICS_ENABLED`` on vs off, in the same run.

Two gunicorns as in `make run` (2 workers each; the metrics one in prometheus_client's
multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``) on one database of 10,000 products; wrk -t2 -c16
alternates between them (interleaved rounds, medians), so both see the same machine. Target: the
metrics cost at most 3% of list throughput. At the end the metrics server's /metrics must count
every list request the rounds made (the workers' files are added up). wrk's req/s on a shared
2-core machine drifts by more than the effect, so the run also measures the CPU time per list
request in one process, metrics off and on in alternating blocks (``time.process_time``).

Run: `make bench-observability` (or .venv/bin/python -m bench.observability [--seconds N]).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import urllib.request

from . import results
from .common import (
    bench_env,
    create_database,
    drop_database,
    gunicorn,
    manage,
    median_runs,
    print_table,
    rows_vs,
    step,
    wrk,
)

DBNAME = "erp_bench_observability"
TARGET = 0.03

# In-process CPU time per products-list request (Django's test client, no network), metrics on
# and off in alternating blocks: time.process_time() counts this process's CPU only, so the
# other work on a shared machine does not blur the ratio the way it blurs wrk's req/s.
CPU_SCRIPT = """
import json, statistics, time
from django.conf import settings
from django.test import Client
client = Client(HTTP_AUTHORIZATION="Token {token}", HTTP_X_ORGANIZATION="{org}")
settings.ALLOWED_HOSTS = ["*"]
for _ in range(50):
    assert client.get("/api/v1/products/").status_code == 200
samples = {{"off": [], "on": []}}
for block in range({blocks}):
    for state in ("off", "on"):
        settings.REQUEST_METRICS_ENABLED = state == "on"
        started = time.process_time()
        for _ in range({per_block}):
            client.get("/api/v1/products/")
        samples[state].append((time.process_time() - started) * 1000 / {per_block})
print("CPU " + json.dumps({{k: statistics.median(v) for k, v in samples.items()}}))
"""


def list_requests_counted(base: str) -> float:
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    pattern = (
        r'^erp_http_requests_total\{method="GET",route="api/v1/products/",status="200"\} (\S+)'
    )
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    create_database(DBNAME)
    common = {"API_RESPONSE_CACHE_ENABLED": "false", "WEB_CONCURRENCY": "2"}
    env = bench_env(DBNAME, **common)
    step("loading 10 organizations x 1,000 products")
    out = manage(env, "shell", "-c", "import bench.api_data as d; d.load()")
    values = dict(re.findall(r"(\w+)=(\S+)", out))
    auth = [f"Authorization: Token {values['TOKEN']}", f"X-Organization: {values['ORG']}"]
    off_env = bench_env(DBNAME, REQUEST_METRICS_ENABLED="false", **common)
    multiproc = tempfile.mkdtemp(prefix="bench-prometheus-")
    on_env = bench_env(
        DBNAME, REQUEST_METRICS_ENABLED="true", PROMETHEUS_MULTIPROC_DIR=multiproc, **common
    )
    cases = {"metrics off (baseline)": off_env, "metrics on": on_env}
    runs: dict[str, list[dict]] = {name: [] for name in cases}
    sent = 0.0
    with gunicorn(off_env) as off, gunicorn(on_env) as on:
        servers = {"metrics off (baseline)": off, "metrics on": on}
        for server in servers.values():
            wrk(f"{server.base}/api/v1/products/", seconds=2, headers=auth)  # warm up
        warm_count = list_requests_counted(on.base)
        for round_number in range(1, args.rounds + 1):
            for name, server in servers.items():
                step(f"round {round_number}/{args.rounds}: {name} for {args.seconds}s")
                result = wrk(f"{server.base}/api/v1/products/", seconds=args.seconds, headers=auth)
                runs[name].append(result)
                if server is on:
                    sent += result["rps"] * args.seconds
        counted = list_requests_counted(on.base) - warm_count
    step("in-process CPU time per list request, metrics off/on in alternating blocks")
    script = CPU_SCRIPT.format(token=values["TOKEN"], org=values["ORG"], blocks=10, per_block=40)
    out = manage(bench_env(DBNAME, **common), "shell", "-c", script)
    cpu = json.loads(out.split("CPU ", 1)[1])
    figures = median_runs(runs)
    base, metered = figures["metrics off (baseline)"], figures["metrics on"]
    cost = 1 - metered["rps"] / base["rps"]
    rows = rows_vs(figures, base)
    print_table(
        f"Request metrics cost: products list, wrk -t2 -c16, 2 gunicorn workers each, medians of "
        f"{args.rounds} interleaved rounds of {args.seconds}s",
        ["case", "req/s", "p50 ms", "p99 ms", "vs off"],
        rows,
    )
    print(
        f"\ncost: {cost * 100:+.1f}% of list throughput (target <= {TARGET * 100:.0f}%); "
        f"/metrics counted {counted:.0f} list requests for ~{sent:.0f} sent (wrk's rate x time)"
    )
    cpu_cost = cpu["on"] / cpu["off"] - 1
    print_table(
        "CPU time per products-list request in one process (10 alternating blocks of 40)",
        ["case", "CPU ms/request", "vs off"],
        [
            ["metrics off (baseline)", f"{cpu['off']:.3f}", "1.000x"],
            ["metrics on", f"{cpu['on']:.3f}", f"{cpu['on'] / cpu['off']:.3f}x"],
        ],
    )
    print(f"CPU cost: {cpu_cost * 100:+.2f}% per list request (target <= {TARGET * 100:.0f}%)")
    figures["in-process CPU ms/request, metrics off"] = {"rps": 1000 / cpu["off"]}
    figures["in-process CPU ms/request, metrics on"] = {"rps": 1000 / cpu["on"]}
    results.record("observability", figures, baseline="metrics off (baseline)")
    if not args.keep:
        drop_database(DBNAME)


if __name__ == "__main__":
    main()
