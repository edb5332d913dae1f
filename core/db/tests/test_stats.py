"""db_stats and the PostgreSQL collector on /metrics, against the real server."""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from api.v1.catalog.products.tests.factories import ProductFactory
from core.db import server, stats

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_db_stats_reports_every_section(org, capsys):
    ProductFactory.create_batch(3, organization=org)
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX dup_a ON products_product (name)")
        cursor.execute("CREATE INDEX dup_b ON products_product (name)")
    try:
        call_command("db_stats")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX dup_a; DROP INDEX dup_b")
    out = capsys.readouterr().out
    for heading in ("Database", "Tables", "Indexes", "Activity", "Slowest statements"):
        assert heading in out
    assert "buffer cache hit ratio" in out and "connections " in out
    assert "products_product" in out
    assert "duplicates on products_product: dup_a, dup_b" in out
    assert "pg_stat_statements is not installed" in out


def test_waiting_lock_and_oldest_transaction_are_seen():
    endpoint = server.admin_endpoint().on(connection.settings_dict["NAME"])
    holder = endpoint.connect(autocommit=False)
    holder.execute("LOCK TABLE products_product IN ACCESS EXCLUSIVE MODE")
    holder_pid = holder.info.backend_pid

    def blocked_reader():
        with endpoint.connect() as conn:
            conn.execute("SELECT count(*) FROM products_product")

    reader = threading.Thread(target=blocked_reader)
    reader.start()
    try:
        for _ in range(200):  # until the reader is queued (bounded)
            data = stats.collect()
            if data["waiting_locks"]:
                break
            time.sleep(0.02)
        assert data["waiting_locks"][0]["blocked_by"] == [holder_pid]
        assert data["waiting_locks"][0]["relation"] == "products_product"
        assert data["oldest_transaction"]["pid"] == holder_pid
    finally:
        holder.commit()
        holder.close()
        reader.join()


def test_broken_pg_stat_statements_does_not_break_the_rest():
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    try:
        data = stats.collect()  # not in shared_preload_libraries here: the view raises
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP EXTENSION pg_stat_statements")
    assert data["slow_statements"] is None
    assert data["database"]["commits"] > 0


def test_metrics_endpoint_exposes_database_metrics(client, settings, org):
    settings.METRICS_TOKEN = ""
    ProductFactory(organization=org)
    body = client.get("/metrics").content.decode()
    assert "erp_db_up 1.0" in body
    assert 'erp_db_connections{state="' in body
    assert "erp_db_max_connections " in body
    assert "erp_db_xact_commits_total " in body
    assert "erp_db_cache_hit_ratio " in body
    assert 'erp_db_table_dead_tuples{table="products_product"}' in body
    assert "erp_db_oldest_transaction_seconds " in body
    assert "erp_db_waiting_locks 0.0" in body
    assert "erp_db_size_bytes " in body
