"""PgBouncer in transaction mode: the settings DB_PGBOUNCER=true builds, and proof that the app
keeps no session state on a server connection PgBouncer shares between clients.

The proof runs the app's paths (API list/detail/create, an order, an export read with
``.iterator()``, the outbox relay, db stats) through a real PgBouncer started from the shipped
``deploy/pgbouncer/pgbouncer.ini`` with ONE server connection, then inspects that very server
session for leftovers: prepared statements, open cursors, advisory locks, temp tables and
session-level settings.
"""

from __future__ import annotations

import re
from pathlib import Path

import environ
import psycopg
import pytest
from django.conf import settings
from django.db import connection

from api.v1.catalog.products.tests.factories import ProductFactory
from core.db.config import database_config
from core.testing.pgbouncer import SAMPLE_INI, SKIP_REASON, PgBouncer, pgbouncer_binary

# Settings a session-level SET would change; a transaction-local set_config leaves them alone.
WATCHED_SETTINGS = (
    "statement_timeout",
    "lock_timeout",
    "synchronous_commit",
    "idle_in_transaction_session_timeout",
    "search_path",
    "application_name",
    "default_transaction_isolation",
    "TimeZone",
)
SESSION_STATE_SQL = f"""
SELECT (SELECT count(*) FROM pg_prepared_statements) AS prepared,
       (SELECT count(*) FROM pg_cursors) AS cursors,
       (SELECT count(*) FROM pg_locks
         WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS advisory_locks,
       (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()) AS temp_tables,
       {", ".join(f"current_setting('{name}') AS {name.lower()}" for name in WATCHED_SETTINGS)}
"""


def session_state(conn: psycopg.Connection) -> dict:
    cursor = conn.execute(SESSION_STATE_SQL, prepare=False)
    names = [column.name for column in cursor.description]
    return dict(zip(names, cursor.fetchone(), strict=True))


class TestSettings:
    def test_pgbouncer_turns_off_server_side_cursors_and_prepared_statements(self, monkeypatch):
        monkeypatch.setenv("X_DB_URL", "postgres://u:p@bouncer:6432/erp")
        monkeypatch.setenv("DB_PGBOUNCER", "true")
        config = database_config(environ.Env(), "X_DB_URL")
        assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert config["OPTIONS"]["prepare_threshold"] is None
        assert config["CONN_MAX_AGE"] == 60  # client connections to PgBouncer stay cheap to keep

        monkeypatch.setenv("DB_PGBOUNCER", "false")
        config = database_config(environ.Env(), "X_DB_URL")
        assert not config.get("DISABLE_SERVER_SIDE_CURSORS")


# Code that runs through the pooler must not create session state. Migrations (safe_migrate's
# session lock_timeout) and backups connect to PostgreSQL directly (docs/database.md).
BYPASSES_POOLER = {"core/db/safe_migrate.py"}
SESSION_STATE_PATTERNS = {
    "session advisory lock (use pg_advisory_xact_lock)": re.compile(
        r"pg_(try_)?advisory_lock(_shared)?\s*\(", re.I
    ),
    "session-level set_config (third argument must be true)": re.compile(
        r"set_config\([^)]*,\s*false\s*\)", re.I
    ),
    "SET without LOCAL": re.compile(
        r"""execute\(\s*f?["']{1,3}\s*SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)""", re.I
    ),
    "prepared statement": re.compile(r"prepare\s*=\s*True|\bPREPARE\s+\w+\s+AS\b"),
    "cursor kept across transactions": re.compile(r"WITH\s+HOLD|\bLISTEN\s+\w", re.I),
    "named (server-side) psycopg cursor": re.compile(r"\.cursor\(\s*name\s*="),
}


def test_no_session_state_in_code_that_runs_through_the_pooler():
    root = Path(settings.BASE_DIR)
    findings = []
    for base in ("core", "api", "config"):
        for path in (root / base).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative in BYPASSES_POOLER or "/migrations/" in relative or "/tests/" in relative:
                continue
            text = path.read_text()
            for what, pattern in SESSION_STATE_PATTERNS.items():
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    findings.append(f"{relative}:{line}: {what}")
    assert findings == [], "Session state breaks PgBouncer transaction pooling:\n" + "\n".join(
        findings
    )


@pytest.fixture
def single_server_bouncer():
    """PgBouncer from the sample ini in front of the test database, one server connection."""
    if pgbouncer_binary() is None:
        pytest.skip(SKIP_REASON)
    default = connection.settings_dict
    host, port = default["HOST"] or "127.0.0.1", int(default["PORT"] or 5432)
    dbname = default["NAME"]
    bouncer = PgBouncer(
        host,
        port,
        users=(default["USER"] or "postgres",),
        databases={dbname: f"host={host} port={port} dbname={dbname}"},
        settings={"default_pool_size": 1, "min_pool_size": 0, "reserve_pool_size": 0},
    ).start()
    saved = {k: default.get(k, False) for k in ("HOST", "PORT", "DISABLE_SERVER_SIDE_CURSORS")}
    connection.close()
    default.update(HOST="127.0.0.1", PORT=bouncer.port, DISABLE_SERVER_SIDE_CURSORS=True)
    try:
        yield bouncer, dbname
    finally:
        connection.close()
        default.update(saved)
        bouncer.admin(f"KILL {dbname}")  # its server connection, so the test database can go
        bouncer.cleanup()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_app_paths_leave_no_session_state_on_the_shared_server_connection(
    single_server_bouncer, org, member_client, django_capture_on_commit_callbacks
):
    bouncer, dbname = single_server_bouncer
    config = {row["key"]: row["value"] for row in bouncer.admin("SHOW CONFIG")}
    assert config["pool_mode"] == "transaction"
    with bouncer.connect(dbname) as probe:
        clean = session_state(probe)
        # The detector works: a session SET by one client is seen by the next one PgBouncer
        # hands the same server connection to.
        with bouncer.connect(dbname) as other:
            other.execute("SET statement_timeout = '4321ms'")
        assert session_state(probe)["statement_timeout"] == "4321ms"
        probe.execute("RESET ALL")
        assert session_state(probe) == clean

    client, _ = member_client(org, "admin")
    ProductFactory.create_batch(3, organization=org)
    created = client.post(
        "/api/v1/products/", {"sku": "PGB-1", "name": "Bounced", "price": "5.00", "stock": 9}
    )
    assert created.status_code == 201, created.content
    product_id = created.json()["id"]
    for _ in range(6):  # past psycopg's default prepare_threshold (5) for the same query
        assert client.get("/api/v1/products/").status_code == 200
        assert client.get(f"/api/v1/products/{product_id}/").status_code == 200
    order = client.post("/api/v1/orders/", {"lines": [{"product": product_id, "quantity": 2}]})
    assert order.status_code == 201, order.content
    with django_capture_on_commit_callbacks(execute=True):
        export = client.post("/api/v1/exports/", {"kind": "products", "format": "csv"})
    assert export.status_code == 202, export.content
    body = client.get(f"/api/v1/exports/{export.json()['id']}/").json()
    assert body["status"] == "done" and body["row_count"] == 4  # read with .iterator()

    from core.db import stats
    from core.outbox.services import relay_pending

    relay_pending()
    assert stats.collect()["database"]  # statement_timeout via transaction-local set_config
    connection.close()

    assert bouncer.server_connections(dbname) == 1  # everything above shared one session
    with bouncer.connect(dbname) as probe:
        assert session_state(probe) == clean


def test_sample_ini_is_the_rendered_base(tmp_path):
    """The derivative keeps every pooling choice of the shipped file (only addresses, paths,
    auth and the overrides differ)."""
    sample = SAMPLE_INI.read_text()
    assert "pool_mode = transaction" in sample
    rendered = PgBouncer(
        "127.0.0.1", 5432, settings={"default_pool_size": 3}, directory=tmp_path
    ).render()
    for line in ("pool_mode = transaction", "max_client_conn = 2000", "default_pool_size = 3"):
        assert line in rendered
    assert "scram-sha-256" not in rendered and "auth_type = trust" in rendered
