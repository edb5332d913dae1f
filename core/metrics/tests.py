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
