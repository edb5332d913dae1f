"""A PostgreSQL outage under a live gunicorn: 503 + Retry-After (never 500), logged once, and
back to 200/201 without a restart when the server returns. Runs on a throwaway cluster."""

from __future__ import annotations

import time

import pytest
from knox.models import AuthToken

from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member
from core.testing.livestack import LiveGunicorn, app_env, clone_test_database, http
from core.testing.pgcluster import ClusterError, ClusterSet, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("db-outage"),
]


@pytest.fixture
def clusters():
    try:
        clusters = ClusterSet()
    except ClusterError as exc:
        pytest.skip(str(exc))
    yield clusters
    clusters.close()


def test_database_outage_answers_503_with_retry_after_then_recovers(org, clusters, tmp_path):
    user = add_member(org, "admin")
    _, token_key = AuthToken.objects.create(user=user)
    product = ProductFactory(organization=org, stock=1000)
    primary = clusters.primary()
    clone_test_database(primary, "erp")
    web = LiveGunicorn(app_env(primary.url("erp"), DB_OUTAGE_RETRY_AFTER="7"), tmp_path, workers=1)
    headers = {"Authorization": f"Token {token_key}", "X-Organization": org.slug}
    order = {"lines": [{"product": product.pk, "quantity": 1}]}
    try:
        web.wait_ready()
        assert http("GET", f"{web.base}/api/v1/products/", headers=headers)[0] == 200
        assert http("POST", f"{web.base}/api/v1/orders/", order, headers)[0] == 201
        assert http("GET", f"{web.base}/health/ready/")[0] == 200

        primary.stop("immediate")
        answers = []
        for _ in range(5):
            for method, path, body in (
                ("GET", "/api/v1/products/", None),
                ("POST", "/api/v1/orders/", order),
                ("GET", f"/api/v1/products/{product.pk}/", None),
                ("POST", "/api/v1/auth/token/", {"username": user.username, "password": "x"}),
            ):
                answers.append((path, *http(method, f"{web.base}{path}", body, headers)))
        # A plain Django view (the admin, session + user lookup): same answer.
        answers.append(
            (
                "/admin/",
                *http("GET", f"{web.base}/admin/", headers={"Cookie": "sessionid=" + "a1" * 16}),
            )
        )
        for path, status, head, payload in answers:
            assert status == 503, (path, status, payload)
            assert head["Retry-After"] == "7", path
            assert payload["code"] == "database_unavailable", path
            assert "temporarily unavailable" in payload["detail"]
        status, _, ready = http("GET", f"{web.base}/health/ready/")
        assert status == 503 and ready["components"]["database"]["status"] == "down"

        primary.start()
        started = time.monotonic()
        wait_until(lambda: http("GET", f"{web.base}/health/ready/")[0] == 200, 30, "readiness 200")
        recovered_in = time.monotonic() - started
        print(f"readiness back {recovered_in:.2f}s after PostgreSQL accepted connections again")
        assert http("GET", f"{web.base}/api/v1/products/", headers=headers)[0] == 200
        assert http("POST", f"{web.base}/api/v1/orders/", order, headers)[0] == 201
    finally:
        web.stop()
    log = web.log.read_text()
    assert log.count("Database unreachable") == 1, log[-4000:]
    assert log.count("Database reachable again") == 1, log[-4000:]
    assert f"{len(answers)} request(s) were answered 503" in log
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-4000:]
    # Django's per-request line is suppressed (the readiness probe's own 503 stays logged).
    assert "Service Unavailable: /api" not in log and "Service Unavailable: /admin" not in log
