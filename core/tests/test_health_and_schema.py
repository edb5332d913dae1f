import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper

from core.health import checks
from core.testing.health import ready_with_details


def shared_wrapper(settings_dict, alias):
    """A connection to a broken server, usable from the probe thread."""
    wrapper = DatabaseWrapper(settings_dict, alias=alias)
    wrapper.inc_thread_sharing()
    return wrapper


def test_live_touches_no_backend(client):
    # No db fixture: any database access here would raise.
    response = client.get("/health/live/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_ready_reports_the_database(client, settings):
    settings.HEALTH_CHECK_TIMEOUT = 10  # a loaded CI machine must not turn "slow" into "down"
    response = ready_with_details(client)
    assert response.status_code == 200
    body = response.json()
    # No Celery worker/beat runs in unit tests: those components may be "degraded" (still 200).
    assert body["status"] in ("ok", "degraded")
    assert body["components"]["database"]["status"] == "ok"
    assert {"database", "cache.default", "storage", "celery_broker", "outbox"} <= set(
        body["components"]
    )


@pytest.mark.django_db
def test_ready_is_503_when_the_database_is_down(client, monkeypatch):
    settings_dict = {**connections["default"].settings_dict, "PORT": 1, "NAME": "nowhere"}
    monkeypatch.setattr(checks, "connection", shared_wrapper(settings_dict, "dead"))
    response = ready_with_details(client)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["components"]["database"]["status"] == "down"
    assert body["components"]["database"]["error"].startswith("OperationalError: connection")


def test_schema_and_docs_are_public_and_cover_every_endpoint(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/users/",
        "/api/v1/organizations/",
        "/api/v1/organizations/{slug}/",
        "/api/v1/organizations/{organization_slug}/members/",
        "/api/v1/organizations/{organization_slug}/members/{username}/",
        "/api/v1/products/",
        "/api/v1/products/{id}/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/",
        "/api/v1/orders/{id}/cancel/",
    ]:
        assert path in paths, path
    order_post = paths["/api/v1/orders/"]["post"]
    assert "OrderCreate" in str(order_post["requestBody"])
    assert client.get("/api/v1/docs/").status_code == 200


def test_schema_generation_has_no_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


@pytest.mark.django_db
def test_ready_gives_up_on_a_hung_database_after_the_deadline(client, monkeypatch, settings):
    """A server that accepts TCP but never answers: the probe answers 503 at the deadline."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        port = listener.getsockname()[1]
        settings.HEALTH_CHECK_TIMEOUT = 0.5
        settings_dict = {**connections["default"].settings_dict, "PORT": port}
        monkeypatch.setattr(checks, "connection", shared_wrapper(settings_dict, "hung"))
        response = ready_with_details(client)
        assert response.status_code == 503
        assert response.json()["components"]["database"]["error"] == "no answer within 0.5s"
    finally:
        listener.close()
