"""Shared set-up for the database benchmarks: a dedicated database, created and dropped by the
benchmark, migrated with this code and filled with generated orders (SQL generate_series)."""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlsplit

ADMIN_URL = os.environ.get("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def setup_django(dbname: str) -> None:
    """Point Django (test settings: no Redis needed) at ``dbname`` as the administrative role."""
    admin = urlsplit(ADMIN_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_DATABASE_URL"] = admin._replace(path=f"/{dbname}").geturl()
    import django

    django.setup()


def bench_db_name(topic: str) -> str:
    return f"erp_bench_{topic}_{uuid.uuid4().hex[:8]}"


def fill_orders(conn, rows: int, organizations: int = 10) -> float:
    """Insert ``rows`` orders spread over ``organizations``; returns seconds taken."""
    started = time.monotonic()
    conn.execute(
        "INSERT INTO organizations_organization (created_at, updated_at, name, slug) "
        "SELECT now(), now(), 'Org ' || g, 'org-' || g FROM generate_series(1, %s) g",
        [organizations],
    )
    conn.execute(
        """
        INSERT INTO orders_order (created_at, updated_at, number, status, total, metadata,
                                  organization_id)
        SELECT now() - (g || ' seconds')::interval, now(), g / %(orgs)s + 1,
               CASE WHEN g %% 10 = 0 THEN 'cancelled' ELSE 'placed' END,
               (g %% 1000) + 0.99, jsonb_build_object('ref', g),
               (SELECT min(id) FROM organizations_organization) + g %% %(orgs)s
        FROM generate_series(1, %(rows)s) g
        """,
        {"rows": rows, "orgs": organizations},
    )
    conn.execute(
        "INSERT INTO orders_ordernumbercounter (organization_id, last_number) "
        "SELECT organization_id, max(number) FROM orders_order GROUP BY 1"
    )
    conn.execute("VACUUM ANALYZE orders_order")
    return time.monotonic() - started


def table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| "
        + " | ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        + " |"
        for r in rows
    ]
    return "\n".join([line, sep, *body])
