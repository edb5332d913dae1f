"""What the browsable API costs JSON clients (issue 12, "Browsable API"): products-list JSON
throughput with ``API_BROWSABLE`` off vs on, in the same run.

Two gunicorns as in `make run` (2 workers each), one with the browsable API renderer and one
without, on one database of 10,000 products; wrk -t2 -c16 sends token-authenticated JSON list
requests to both in interleaved rounds (medians). wrk's req/s on a shared 2-core machine drifts
by more than a small effect, so the run also measures the CPU time per JSON list request in one
process, the products viewset's renderers switched between blocks (``time.process_time``). The
target: JSON clients pay nothing (the JSON renderer stays first, so content negotiation picks it
for ``Accept: application/json``, ``*/*`` or no Accept header). Last, one ``Accept: text/html``
session request checks the on-server really serves the browsable page.

Run: `make bench-browsable` (or .venv/bin/python -m bench.browsable [--seconds N]).
"""

from __future__ import annotations

import argparse
import json
import re

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

DBNAME = "erp_bench_browsable"
TARGET = 0.03  # within noise: the same bound as the request metrics (bench.observability)

CPU_SCRIPT = """
import json, statistics, time
from django.conf import settings
from django.test import Client
from api.v1.catalog.products.views import ProductViewSet
from core.api.renderers import BrowsableAPIRenderer, FastJSONRenderer
client = Client(HTTP_AUTHORIZATION="Token {token}", HTTP_X_ORGANIZATION="{org}",
                HTTP_ACCEPT="application/json")
settings.ALLOWED_HOSTS = ["*"]
renderers = {{"off": [FastJSONRenderer], "on": [FastJSONRenderer, BrowsableAPIRenderer]}}
for _ in range(50):
    assert client.get("/api/v1/products/").status_code == 200
samples = {{"off": [], "on": []}}
for block in range({blocks}):
    for state in ("off", "on"):
        ProductViewSet.renderer_classes = renderers[state]
        started = time.process_time()
        for _ in range({per_block}):
            response = client.get("/api/v1/products/")
        assert response["Content-Type"] == "application/json"
        samples[state].append((time.process_time() - started) * 1000 / {per_block})
print("CPU " + json.dumps({{k: statistics.median(v) for k, v in samples.items()}}))
"""

HTML_SCRIPT = """
from django.conf import settings
from django.test import Client
from api.v1.base_models.organization.models import Membership
settings.ALLOWED_HOSTS = ["*"]
member = Membership.objects.select_related("user", "organization").filter(
    organization__slug="{org}").first()
client = Client()
client.force_login(member.user)
response = client.get("/api/v1/products/?organization={org}", HTTP_ACCEPT="text/html")
print("HTML", response.status_code, response["Content-Type"])
"""


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
    auth = [
        f"Authorization: Token {values['TOKEN']}",
        f"X-Organization: {values['ORG']}",
        "Accept: application/json",
    ]
    cases = {
        "browsable API off (baseline)": bench_env(DBNAME, API_BROWSABLE="false", **common),
        "browsable API on": bench_env(DBNAME, API_BROWSABLE="true", **common),
    }
    runs: dict[str, list[dict]] = {name: [] for name in cases}
    off_name, on_name = cases
    with gunicorn(cases[off_name]) as off, gunicorn(cases[on_name]) as on:
        servers = {off_name: off, on_name: on}
        for server in servers.values():
            wrk(f"{server.base}/api/v1/products/", seconds=2, headers=auth)  # warm up
        for round_number in range(1, args.rounds + 1):
            for name, server in servers.items():
                step(f"round {round_number}/{args.rounds}: {name} for {args.seconds}s")
                runs[name].append(
                    wrk(f"{server.base}/api/v1/products/", seconds=args.seconds, headers=auth)
                )
    step("in-process CPU time per JSON list request, renderers switched in alternating blocks")
    script = CPU_SCRIPT.format(token=values["TOKEN"], org=values["ORG"], blocks=10, per_block=40)
    cpu = json.loads(manage(env, "shell", "-c", script).split("CPU ", 1)[1])
    html = manage(
        bench_env(DBNAME, API_BROWSABLE="true", **common),
        "shell",
        "-c",
        HTML_SCRIPT.format(org=values["ORG"]),
    )
    html_line = html.split("HTML ", 1)[1].strip() if "HTML " in html else "(no answer)"

    figures = median_runs(runs)
    base = figures[off_name]
    rows = rows_vs(figures, base)
    print_table(
        f"Browsable API cost for JSON clients: products list, wrk -t2 -c16, 2 gunicorn workers "
        f"each, medians of {args.rounds} interleaved rounds of {args.seconds}s",
        ["case", "req/s", "p50 ms", "p99 ms", "vs off"],
        rows,
    )
    cost = 1 - figures[on_name]["rps"] / base["rps"]
    print(f"\nwrk: {cost * 100:+.1f}% of JSON list throughput (target <= {TARGET * 100:.0f}%)")
    print_table(
        "CPU time per JSON products-list request in one process (10 alternating blocks of 40)",
        ["case", "CPU ms/request", "vs off"],
        [
            [off_name, f"{cpu['off']:.3f}", "1.000x"],
            [on_name, f"{cpu['on']:.3f}", f"{cpu['on'] / cpu['off']:.3f}x"],
        ],
    )
    print(f"CPU cost: {(cpu['on'] / cpu['off'] - 1) * 100:+.2f}% per JSON list request")
    print(f"browsable page (session, Accept: text/html): {html_line}")
    figures["in-process CPU ms/request, browsable off"] = {"rps": 1000 / cpu["off"]}
    figures["in-process CPU ms/request, browsable on"] = {"rps": 1000 / cpu["on"]}
    results.record("browsable", figures, baseline=off_name)
    if not args.keep:
        drop_database(DBNAME)


if __name__ == "__main__":
    main()
