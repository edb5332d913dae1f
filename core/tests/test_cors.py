"""CORS with django-cors-headers: only the origins in CORS_ALLOWED_ORIGINS (default: none)."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ALLOWED = "https://app.example.com"


def preflight(origin: str):
    return Client().options(
        "/api/v1/products/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-organization",
    )


def test_no_origin_is_allowed_by_default():
    from django.conf import settings

    assert settings.CORS_ALLOWED_ORIGINS == []
    response = preflight(ALLOWED)
    assert "access-control-allow-origin" not in response.headers


def test_preflight_of_an_allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]
    response = preflight(ALLOWED)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "x-organization" in allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers


def test_preflight_of_another_origin_is_denied(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]
    response = preflight("https://evil.example.net")
    assert "access-control-allow-origin" not in response.headers


def test_actual_request_exposes_the_request_id(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]
    response = Client().get("/api/v1/products/", HTTP_ORIGIN=ALLOWED)
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "X-Request-ID" in response.headers["access-control-expose-headers"]
