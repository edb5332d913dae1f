"""Large organizations (issue 14): list latency that doesn't grow with the table.

Starts gunicorn as `make run` does (response cache off: every request reaches PostgreSQL) on a
database holding one organization of 10,000 products and one of 1,000,000, and measures with wrk
(-t2 -c16, medians of interleaved rounds):

- page 1 of each organization's list (the bare baseline is the 10,000-row organization);
- a deep page in cursor mode (``?cursor=`` taken 5,000 rows in) of the large organization;
- the ``?custom_fields__batch=`` filter (GIN index) on the large organization.

Target: page 1 at 1,000,000 rows within 2x of page 1 at 10,000.

Run: `make bench-pagination` (or .venv/bin/python -m bench.pagination [--seconds N]).
"""

from __future__ import annotations

import argparse
import json
import statistics
import urllib.request

from . import results
from .common import (
    bench_env,
    create_database,
    drop_database,
    gunicorn,
    manage,
    print_table,
    step,
    wrk,
)
from .orders import login

DBNAME = "erp_bench_pagination"
SIZES = {"small": 10_000, "large": 1_000_000}

LOAD = """
from django.contrib.auth import get_user_model
from django.db import connection
from api.v1.base_models.organization.models import Membership, Organization, Role
user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-2024")
with connection.cursor() as cursor:
    cursor.execute("DROP INDEX products_custom_fields_gin")
    for slug, rows in %r.items():
        org = Organization.objects.create(name=slug, slug=slug)
        Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="viewer"))
        cursor.execute(
            "INSERT INTO products_product (organization_id, sku, name, price, stock, custom_fields,"
            " created_at, updated_at) SELECT %%s, 'SKU-' || g, 'Product ' || g, 1, 1,"
            " jsonb_build_object('batch', g %%%% 5000), now(), now()"
            " FROM generate_series(1, %%s) g", [org.pk, rows])
    cursor.execute("CREATE INDEX products_custom_fields_gin ON products_product USING gin (custom_fields)")
    cursor.execute("VACUUM ANALYZE products_product")
print("LOADED")
"""


def deep_cursor(base: str, headers: dict, rows: int) -> str:
    """The ``next`` link after walking ``rows`` rows in cursor mode (pages of 200)."""
    url = f"{base}/api/v1/products/?cursor=&page_size=200"
    for _ in range(rows // 200):
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            url = json.load(response)["next"]
    return url.replace("page_size=200", "page_size=50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    create_database(DBNAME)
    env = bench_env(DBNAME, API_RESPONSE_CACHE_ENABLED="false")
    step("loading 10,000 + 1,000,000 products (about a minute)")
    manage(env, "shell", "-c", LOAD % SIZES, owner=True)
    with gunicorn(env) as server:
        token = login(server.base)
        auth = {"Authorization": f"Token {token}"}
        headers = {
            slug: [f"Authorization: Token {token}", f"X-Organization: {slug}"] for slug in SIZES
        }
        deep = deep_cursor(server.base, {**auth, "X-Organization": "large"}, 5_000)
        cases = {
            "page 1, 10,000 rows (baseline)": (f"{server.base}/api/v1/products/", "small"),
            "page 1, 1,000,000 rows": (f"{server.base}/api/v1/products/", "large"),
            "cursor page 101, 1,000,000 rows": (deep, "large"),
            "custom_fields filter, 1,000,000 rows": (
                f"{server.base}/api/v1/products/?custom_fields__batch=17",
                "large",
            ),
        }
        for url, slug in cases.values():
            wrk(url, seconds=1, headers=headers[slug])  # warm-up
        runs = {name: [] for name in cases}
        for round_number in range(1, args.rounds + 1):
            for name, (url, slug) in cases.items():
                step(f"round {round_number}/{args.rounds}: {name}")
                runs[name].append(wrk(url, seconds=args.seconds, headers=headers[slug]))
    figures = {
        name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p99")}
        | {"errors": sum(r["errors"] for r in rs)}
        for name, rs in runs.items()
    }
    base = figures["page 1, 10,000 rows (baseline)"]
    rows = [
        [
            name,
            f"{f['rps']:.0f}",
            f"{f['p50']:.1f}",
            f"{f['p99']:.1f}",
            f"{f['p50'] / base['p50']:.2f}x",
            f["errors"],
        ]
        for name, f in figures.items()
    ]
    print_table(
        f"Large organizations (wrk -t2 -c16, response cache off, medians of {args.rounds} rounds)",
        ["case", "req/s", "p50 ms", "p99 ms", "p50 x baseline", "non-2xx"],
        rows,
    )
    results.record("pagination", figures, baseline="page 1, 10,000 rows (baseline)")
    if not args.keep:
        drop_database(DBNAME)
    ratio = figures["page 1, 1,000,000 rows"]["p50"] / base["p50"]
    if ratio > 2 or any(f["errors"] for f in figures.values()):
        raise SystemExit(f"target missed: page 1 at 1M rows is {ratio:.2f}x the 10k p50 (<= 2x)")


if __name__ == "__main__":
    main()
