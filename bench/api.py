"""Foundation API benchmark (issue 2).

Starts gunicorn exactly as `make run` does against a fresh database holding 10,000 products in
10 organizations, then measures with wrk (-t2 -c16) in one run:

- a bare DRF ListAPIView over the same table (default ModelSerializer, page-number pagination,
  no auth, no scoping): the baseline;
- the real products list (token auth, X-Organization, RBAC, org-scoped, 50 per page);
- product detail; order placement.

Run: `make bench-api` (or .venv/bin/python -m bench.api [--seconds N]).
"""

from __future__ import annotations

import argparse
import re

from .common import (
    bench_env,
    create_database,
    drop_database,
    gunicorn,
    manage,
    median_runs,
    print_table,
    step,
    wrk,
)

DBNAME = "erp_bench_api"
ANALYZE = (
    "from django.db import connection; "
    "connection.cursor().execute('VACUUM ANALYZE products_product')"
)

ORDER_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local first = {first}
request = function()
  local product = first + math.random(0, 999)
  return wrk.format(nil, nil, nil, '{{"lines":[{{"product":' .. product .. ',"quantity":1}}]}}')
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds (medians are reported)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    create_database(DBNAME)
    env = bench_env(DBNAME, BENCH_ENDPOINTS="true", API_RESPONSE_CACHE_ENABLED="false")
    step("loading 10 organizations x 1,000 products")
    out = manage(env, "shell", "-c", "import bench.api_data as d; d.load()")
    values = dict(re.findall(r"(\w+)=(\S+)", out))
    auth = [f"Authorization: Token {values['TOKEN']}", f"X-Organization: {values['ORG']}"]
    first = int(values["FIRST_PRODUCT"])
    # As the table owner: api_data's ANALYZE runs as erp_app, which PostgreSQL skips with a
    # warning, and autovacuum may be off. Without statistics the planner expects 10 rows per
    # organization and sorts the whole organization for every page.
    manage(env, "shell", "-c", ANALYZE, owner=True)

    rows = []
    with gunicorn(env) as server:
        base = server.base
        step(f"server up at {base}; warming up")
        wrk(f"{base}/bench/bare-products/", seconds=2)
        wrk(f"{base}/api/v1/products/", seconds=2, headers=auth)
        cases = [
            ("bare DRF list (baseline)", f"{base}/bench/bare-products/", [], None),
            ("products list (auth+org+RBAC)", f"{base}/api/v1/products/", auth, None),
            ("product detail", f"{base}/api/v1/products/{first + 17}/", auth, None),
            ("order placement", f"{base}/api/v1/orders/", auth, ORDER_SCRIPT.format(first=first)),
        ]
        # Interleaved rounds, medians: this machine's throughput drifts by +-20% between runs,
        # so every case sees the same conditions as its baseline.
        runs: dict[str, list[dict]] = {name: [] for name, *_ in cases}
        for round_number in range(1, args.rounds + 1):
            for name, url, headers, script in cases:
                step(f"round {round_number}/{args.rounds}: {name} for {args.seconds}s")
                runs[name].append(wrk(url, seconds=args.seconds, headers=headers, script=script))
        results = median_runs(runs)
    bare = results["bare DRF list (baseline)"]["rps"]
    for name, r in results.items():
        rows.append(
            [
                name,
                f"{r['rps']:.0f}",
                f"{r['p50']:.2f}",
                f"{r['p99']:.2f}",
                f"{r['rps'] / bare:.2f}x",
                r["errors"],
            ]
        )
    print_table(
        f"Foundation API (wrk -t2 -c16, gunicorn as in make run, 10k products / 10 orgs; "
        f"medians of {args.rounds} interleaved rounds of {args.seconds}s)",
        ["endpoint", "req/s", "p50 ms", "p99 ms", "vs bare list", "non-2xx"],
        rows,
    )
    if not args.keep:
        drop_database(DBNAME)


if __name__ == "__main__":
    main()
