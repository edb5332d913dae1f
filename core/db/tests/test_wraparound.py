"""Transaction-ID wraparound and autovacuum health: db_stats, /metrics, readiness (degraded
above DATABASE_XID_AGE_WARN) and, on a throwaway cluster, real ages going up and autovacuum's
anti-wraparound vacuum bringing them down again."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection

from core.db import stats
from core.testing.pgcluster import ClusterError, ClusterSet, wait_until


def _autovacuum_on() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum') = 'on'")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_readiness_reports_xid_ages_and_degrades_above_the_line(client, settings):
    from core.db.health import database_vacuum
    from core.health.registry import Degraded

    name = connection.settings_dict["NAME"]
    assert client.get("/health/ready/").json()["components"]["database_vacuum"]["status"] == "ok"
    details = database_vacuum()  # the details readiness shows to those allowed to see them
    assert details["xid_age"][name] > 0 and "template0" in details["xid_age"]
    assert details["autovacuum"] is _autovacuum_on()  # reported, not degrading by itself
    assert details["xid_age_warn"] == 1_200_000_000
    assert len(details["oldest_tables"]) == 3

    settings.DATABASE_XID_AGE_WARN = 1  # every real database is older than one transaction
    response = client.get("/health/ready/")
    assert response.status_code == 200  # degraded, never 503: the database still serves
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["database_vacuum"]["status"] == "degraded"
    assert body["components"]["database"]["status"] == "ok"
    with pytest.raises(Degraded, match="above DATABASE_XID_AGE_WARN 1:") as info:
        database_vacuum()
    assert info.value.details["xid_age"][name] > 1  # the numbers stay in the degraded answer


@pytest.mark.django_db
def test_metrics_export_xid_age_per_database_oldest_tables_and_autovacuum(client):
    text = client.get("/metrics").content.decode()
    name = connection.settings_dict["NAME"]
    age = re.search(rf'^erp_db_xid_age{{database="{name}"}} (\S+)$', text, re.M)
    assert age and float(age.group(1)) > 0
    assert re.search(r'^erp_db_table_xid_age{table="[^"]+"} \d', text, re.M)
    assert f"erp_db_autovacuum_enabled {float(_autovacuum_on())}" in text
    assert "erp_db_xid_age_warn 1.2e+09" in text


@pytest.mark.django_db
def test_db_stats_shows_wraparound_section(settings):
    out = io.StringIO()
    call_command("db_stats", stdout=out)
    text = out.getvalue()
    assert "Transaction-ID wraparound" in text
    assert ("autovacuum on" if _autovacuum_on() else "autovacuum is NOT running") in text
    assert f"database {connection.settings_dict['NAME']}" in text
    assert "above DATABASE_XID_AGE_WARN" not in text
    settings.DATABASE_XID_AGE_WARN = 1
    out = io.StringIO()
    call_command("db_stats", stdout=out)
    assert "above DATABASE_XID_AGE_WARN 1 " in out.getvalue()


# Anti-wraparound autovacuum from 100k (the minimum); warn line below it.
CLUSTER_CONFIG = "autovacuum_freeze_max_age = 100000\nautovacuum_naptime = 1\n"
WARN_AT = 60_000


def _burn_xids(conn, count: int) -> None:
    """Consume ``count`` transaction IDs in one statement: each exception block is a
    subtransaction, and each one that writes takes its own XID."""
    conn.execute("CREATE TABLE IF NOT EXISTS burn (i int)")
    conn.execute(
        f"DO $$ BEGIN FOR i IN 1..{int(count)} LOOP BEGIN INSERT INTO burn VALUES (i); "
        "EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END $$"
    )
    conn.execute("TRUNCATE burn")


@pytest.mark.integration
@pytest.mark.xdist_group("db-wraparound")
def test_real_xid_ages_rise_past_the_line_and_autovacuum_brings_them_back(settings):
    settings.DATABASE_XID_AGE_WARN = WARN_AT
    try:
        clusters = ClusterSet()
    except ClusterError as exc:
        pytest.skip(str(exc))
    with clusters:
        cluster = clusters.primary(extra_config=CLUSTER_CONFIG)
        with cluster.connect() as conn, conn.cursor() as cursor:
            start = stats.wraparound(cursor)
            assert not start["over_warn"] and start["autovacuum"]["enabled"]

            conn.execute("ALTER SYSTEM SET autovacuum = off")
            conn.execute("SELECT pg_reload_conf()")
            wait_until(lambda: not stats.autovacuum_settings(cursor)["enabled"], 10, "reload")
            conn.execute("ALTER SYSTEM RESET autovacuum")
            conn.execute("SELECT pg_reload_conf()")
            wait_until(lambda: stats.autovacuum_settings(cursor)["enabled"], 10, "reload")

            _burn_xids(conn, 70_000)  # above the warn line, below autovacuum_freeze_max_age
            high = stats.wraparound(cursor)
            assert high["over_warn"], high["databases"]
            assert high["max_xid_age"] >= 70_000
            assert {d["database"] for d in high["databases"]} >= {"postgres", "template0"}
            assert high["oldest_tables"][0]["xid_age"] >= 70_000

            _burn_xids(conn, 40_000)  # past autovacuum_freeze_max_age: anti-wraparound vacuum
            back = wait_until(
                lambda: (w := stats.wraparound(cursor)) and not w["over_warn"] and w,
                120,
                "autovacuum to freeze every database below the warn line",
            )
            print(f"xid age {high['max_xid_age']:,} -> {back['max_xid_age']:,} after autovacuum")
