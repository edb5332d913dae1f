import pytest


@pytest.mark.django_db
def test_metrics_open_without_token(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b'erp_build_info{version="' in response.content


@pytest.mark.django_db
def test_metrics_require_bearer_token_when_configured(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.django_db
def test_metrics_refused_without_a_token_when_one_is_required(client, settings):
    """Prod settings (METRICS_REQUIRE_TOKEN): no METRICS_TOKEN set, no figures for anyone."""
    settings.METRICS_REQUIRE_TOKEN = True
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 403
    assert b"set METRICS_TOKEN" in response.content
    assert b"erp_build_info" not in response.content
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_method_and_status(client, settings, org):
    from conftest import add_member, client_for

    settings.METRICS_TOKEN = ""
    api = client_for(add_member(org, "admin"), org)
    for pk in (101, 202, 303):  # three raw paths, one route
        assert api.get(f"/api/v1/products/{pk}/").status_code == 404
    assert api.get("/api/v1/products/").status_code == 200
    assert api.get("/api/v1/no/such/path/").status_code == 404
    text = client.get("/metrics").content.decode()

    def value(line_start: str) -> float:
        line = next(x for x in text.splitlines() if x.startswith(line_start))
        return float(line.rsplit(" ", 1)[1])

    detail = 'method="GET",route="api/v1/products/<pk>/",status="404"'
    assert value(f"erp_http_requests_total{{{detail}}}") >= 3
    assert value(f"erp_http_request_duration_seconds_count{{{detail}}}") >= 3
    assert value(f'erp_http_request_duration_seconds_bucket{{le="+Inf",{detail}}}') >= 3
    listing = 'method="GET",route="api/v1/products/",status="200"'
    assert value(f"erp_http_requests_total{{{listing}}}") >= 1
    assert "/api/v1/products/101/" not in text and "no/such/path" not in text
    assert 'route="<unmatched>",status="404"' in text


@pytest.mark.django_db
def test_request_metrics_can_be_switched_off(client, settings):
    from core.metrics.requests import REQUESTS

    settings.REQUEST_METRICS_ENABLED = False
    before = REQUESTS.labels("GET", "health/live/", "200")._value.get()
    client.get("/health/live/")
    assert REQUESTS.labels("GET", "health/live/", "200")._value.get() == before
