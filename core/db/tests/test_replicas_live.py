"""Read replicas on a real streaming replica (``pg_basebackup -R``) that applies WAL 2 s late
(``recovery_min_apply_delay``), behind the app served by gunicorn as ``make run`` does:

1. a user updates a product and immediately GETs it: the new value, 20 rounds out of 20 (their
   reads go to the primary until the replica has replayed their write);
2. another user's list requests are served by the replica: counted by the replica's own
   ``pg_stat_user_tables``, not taken from the router;
3. with the replica stopped every GET still answers 200 and readiness says ``degraded``.
"""

from __future__ import annotations

import urllib.request

import pytest
from knox.models import AuthToken

from api.v1.catalog.products.tests.factories import ProductFactory
from core.testing.livestack import LiveGunicorn, app_env, clone_test_database, http
from core.testing.pgcluster import ClusterError, ClusterSet, pg_bindir, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("replicas")]

SCANS_SQL = """
SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0)
FROM pg_stat_user_tables WHERE relname = 'products_product'
"""


def product_scans(cluster) -> int:
    with cluster.connect("erp") as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute(SCANS_SQL).fetchone()[0]


def replayed(primary, standby) -> bool:
    with primary.connect() as p, standby.connect() as s:
        target = p.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        return s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(target)]).fetchone()[
            0
        ]


@pytest.fixture
def stack(tmp_path, org, member_client):
    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed")
    _, writer = member_client(org, "admin")
    _, reader = member_client(org, "member")
    product = ProductFactory(organization=org, name="v0")
    ProductFactory.create_batch(5, organization=org)
    tokens = {u: AuthToken.objects.create(user=u)[1] for u in (writer, reader)}
    clusters = ClusterSet()
    try:
        primary = clusters.primary()
        clone_test_database(primary, "erp")
        standby = clusters.standby(primary, extra_config="recovery_min_apply_delay = '2s'\n")
        wait_until(lambda: replayed(primary, standby), 30, "the standby to catch up")
        web = LiveGunicorn(
            app_env(
                primary.url("erp"),
                DATABASE_REPLICA_URLS=standby.url("erp"),
                API_RESPONSE_CACHE_ENABLED="false",  # every GET must reach a database
                DATABASE_REPLICA_RETRY_AFTER="30",
                # Never skipped for lag here: only read-your-writes keeps the writer off the
                # replica that is 2 s behind (with the default 5 s an idle replica's first
                # write may make it look lagging and hide a broken pin).
                DATABASE_REPLICA_MAX_LAG="600",
            ),
            tmp_path,
        )
        try:
            web.wait_ready()
            headers = {
                user: {"Authorization": f"Token {tokens[user]}", "X-Organization": org.slug}
                for user in (writer, reader)
            }
            yield {
                "primary": primary,
                "standby": standby,
                "web": web,
                "writer": headers[writer],
                "reader": headers[reader],
                "product": product,
            }
        finally:
            web.stop()
    except ClusterError as exc:
        pytest.fail(f"could not set up the replica cluster: {exc}")
    finally:
        clusters.close()


@pytest.mark.django_db(transaction=True)
def test_read_your_writes_replica_reads_and_replica_outage(stack):
    primary, standby, web = stack["primary"], stack["standby"], stack["web"]
    detail = f"{web.base}/api/v1/products/{stack['product'].pk}/"
    listing = f"{web.base}/api/v1/products/"

    # 1. Read-your-writes: the replica is >= 2 s behind every write, the writer never sees it.
    seen = []
    for round_ in range(1, 21):
        status, _, _ = http("PATCH", detail, {"name": f"v{round_}"}, stack["writer"])
        assert status == 200
        status, _, body = http("GET", detail, headers=stack["writer"])
        assert status == 200
        seen.append(body["name"])
    assert seen == [f"v{n}" for n in range(1, 21)]

    # 2. Another user is not pinned by those writes: once the replica is current (lag 0), their
    # lists are served by it, as its own statistics show.
    wait_until(lambda: replayed(primary, standby), 30, "the standby to replay the writes")
    before = product_scans(standby)
    for _ in range(10):
        status, _, body = http("GET", listing, headers=stack["reader"])
        assert status == 200 and body["count"] == 6
    wait_until(
        lambda: product_scans(standby) - before >= 10,
        15,  # a backend flushes its statistics within 1 s of activity, or 10 s when idle
        "the replica's pg_stat_user_tables to count the reader's 10 list requests",
    )

    status, _, ready = http("GET", f"{web.base}/health/ready/")
    assert status == 200 and ready["components"]["database_replicas"]["status"] == "ok", ready
    metrics = urllib.request.urlopen(f"{web.base}/metrics", timeout=10).read().decode()
    assert 'erp_db_replica_usable{replica="replica_1"} 1.0' in metrics

    # 3. Replica down: every GET still answers, from the primary; readiness degrades, not 503.
    standby.stop("immediate")
    for _ in range(10):
        for url in (listing, detail):
            status, _, body = http("GET", url, headers=stack["reader"])
            assert status == 200, body
    status, _, ready = http("GET", f"{web.base}/health/ready/")
    assert status == 200, ready
    assert ready["components"]["database_replicas"]["status"] == "degraded", ready
    assert ready["components"]["database"]["status"] == "ok"
    metrics = urllib.request.urlopen(f"{web.base}/metrics", timeout=10).read().decode()
    assert 'erp_db_replica_up{replica="replica_1"} 0.0' in metrics
