"""Read-replica configuration and routing rules that need no second server (the routing itself
is proven on a real streaming replica in test_replicas_live.py)."""

from __future__ import annotations

import environ
import pytest
from django.conf import settings
from django.db import connection

from core.db import replicas
from core.db.config import replica_databases


def test_replica_urls_are_parsed_like_the_primary(monkeypatch):
    monkeypatch.setenv("DB_PGBOUNCER", "true")
    monkeypatch.setenv("DB_CONN_MAX_AGE", "30")
    config = replica_databases(
        [
            "postgres://app:pw@r1.internal:5432/erp",
            " ",
            "postgres://app:pw@r2a:5432,r2b:5433/erp?target_session_attrs=standby",
        ],
        environ.Env(),
    )
    assert list(config) == ["replica_1", "replica_2"]
    one, two = config["replica_1"], config["replica_2"]
    assert (one["HOST"], str(one["PORT"]), one["NAME"]) == ("r1.internal", "5432", "erp")
    assert (two["HOST"], two["PORT"]) == ("r2a,r2b", "5432,5433")
    assert two["OPTIONS"]["target_session_attrs"] == "standby"
    for replica in (one, two):
        assert replica["DISABLE_SERVER_SIDE_CURSORS"] is True and replica["CONN_MAX_AGE"] == 30
        assert replica["TEST"]["MIRROR"] == "default"  # no test database of its own


def test_a_bad_replica_url_names_the_replica():
    with pytest.raises(environ.ImproperlyConfigured, match=r"DATABASE_REPLICA_URLS \(replica 1\)"):
        replica_databases(["mysql://x@h/db"], environ.Env())


def test_wal_positions_compare_numerically():
    assert replicas.lsn_to_int("0/16B3748") < replicas.lsn_to_int("0/A000000")
    assert replicas.lsn_to_int("0/FFFFFFFF") < replicas.lsn_to_int("1/0")
    assert replicas.lsn_to_int(None) == 0


def test_without_replicas_nothing_is_routed(rf):
    assert replicas.replica_aliases() == []
    assert settings.DATABASE_ROUTERS == []
    seen = []
    middleware = replicas.ReplicaReadsMiddleware(lambda request: seen.append(request) or "ok")
    assert middleware.enabled is False
    assert middleware(rf.get("/api/v1/products/")) == "ok" and len(seen) == 1


@pytest.mark.django_db
def test_router_keeps_transactions_and_writes_on_the_primary():
    router = replicas.ReplicaRouter()
    assert router.db_for_write(None) == "default"
    assert router.allow_migrate("replica_1", "products") is False
    assert router.allow_migrate("default", "products") is True
    with replicas.replica_reads():
        assert connection.in_atomic_block  # pytest-django's test transaction
        assert router.db_for_read(None) is None  # inside a transaction: the primary


PROBE = """
import json
from core.db import replicas
from core.doctor.replicas import replica_checks
findings = [(f.id, f.status, f.message) for f in replica_checks(None)]
try:
    replicas.replicas_health()
    health = "ok"
except RuntimeError as exc:
    health = str(exc)
with replicas.replica_reads():
    routed = replicas.ReplicaRouter().db_for_read(None)
print(json.dumps({"findings": findings, "health": health, "routed": routed}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_replica_url_naming_a_primary_gets_no_reads_and_is_reported():
    """A real server that is not in recovery (the test database itself, as replica_1)."""
    import json

    from core.testing.postgres import manage

    dbname = connection.settings_dict["NAME"]
    admin = connection.settings_dict
    url = f"postgres://{admin['USER'] or 'postgres'}@{admin['HOST'] or '127.0.0.1'}:{admin['PORT'] or 5432}/{dbname}"
    result = manage(dbname, "shell", "-c", PROBE, DATABASE_REPLICA_URLS=url)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["findings"] == [
        [
            "postgres.read_replica.replica_1",
            "fail",
            "is not in recovery: DATABASE_REPLICA_URLS names a primary",
        ]
    ]
    assert out["health"].startswith("replica_1 not_replica") and "primary" in out["health"]
    assert out["routed"] == "default"
