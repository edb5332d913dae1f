"""Under /api/ every error is JSON (issue 12, "Errors"), also those Django answers before DRF,
and no response carries the database's own error text."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body
    return body


def test_unknown_api_url_is_json_404(member_client, org):
    client, _ = member_client(org, "admin")
    body = assert_json_error(client.get("/api/v1/no-such-thing/"), 404)
    assert "/api/v1/no-such-thing/" in body["detail"]
    # Outside /api/ Django's HTML page stays.
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_unauthenticated_unknown_api_url_is_json_404():
    assert_json_error(Client().get("/api/v2/anything"), 404)


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v2/anything", "/api/"])
def test_unknown_api_url_is_json_404_with_debug_on(settings, path):
    """DEBUG=True (dev settings) makes Django answer a 404 with its HTML technical page instead
    of handler404: under /api/ it is JSON all the same; elsewhere the technical page stays."""
    settings.DEBUG = True
    body = assert_json_error(Client().get(path), 404)
    assert path in body["detail"]
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_unknown_api_url_with_an_unsafe_method_is_json_404_not_csrf_403(settings):
    """The catch-all is a plain view: CSRF must not refuse it first (a session-less DELETE
    to /api/v1/products/0.5/ is simply a URL that doesn't exist)."""
    client = Client(enforce_csrf_checks=True)
    for debug in (False, True):
        settings.DEBUG = debug
        assert_json_error(client.delete("/api/v1/products/0.5/"), 404)
        assert_json_error(client.post("/api/v1/no-such-thing/", {}), 404)


def test_api_url_without_slash_still_redirects(settings, member_client, org):
    """APPEND_SLASH keeps working under /api/ (the JSON 404 view answers only for no route)."""
    settings.DEBUG = True
    client, _ = member_client(org, "admin")
    response = client.get(PRODUCTS.rstrip("/"))
    assert response.status_code == 301 and response["Location"].endswith(PRODUCTS)


def test_unknown_api_url_counts_as_unmatched_route(settings):
    from core.metrics.requests import route_of

    response = Client().get("/api/v1/nope/")
    assert route_of(response.wsgi_request) == "<unmatched>"


def test_wrong_method_is_json_405(member_client, org):
    client, _ = member_client(org, "admin")
    body = assert_json_error(client.put(PRODUCTS, {}, format="json"), 405)
    assert "PUT" in body["detail"]


def test_body_over_data_upload_max_memory_size_is_json_400(member_client, org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client, _ = member_client(org, "admin")
    body = {"sku": "BIG", "name": "x" * 2000, "price": "1.00"}
    detail = assert_json_error(client.post(PRODUCTS, body, format="json"), 400)["detail"]
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in detail
    from api.v1.catalog.products.models import Product

    assert not Product.objects.filter(sku="BIG").exists()


def test_too_many_form_fields_is_json_400(member_client, org, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    client, _ = member_client(org, "admin")
    data = {f"f{i}": "v" for i in range(20)}
    response = client.post(PRODUCTS, data, format="multipart")
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in assert_json_error(response, 400)["detail"]


def test_broken_multipart_is_json_400(member_client, org):
    client, _ = member_client(org, "admin")
    response = client.generic(
        "POST",
        "/api/v1/files/",
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
        content_type="multipart/form-data; boundary=xyz",
    )
    assert_json_error(response, 400)
    response = client.generic(
        "POST",
        "/api/v1/files/",
        b"abc",
        content_type="multipart/form-data",  # no boundary
    )
    assert_json_error(response, 400)


def test_unhandled_exception_is_json_500_without_its_text(settings):
    settings.ROOT_URLCONF = "core.tests.error_urls"
    response = Client(raise_request_exception=False).get("/api/v1/test-boom/")
    body = assert_json_error(response, 500)
    assert "secret_table" not in response.content.decode()
    assert "Internal server error" in body["detail"]


def test_database_error_text_is_never_echoed(member_client, org):
    client, _ = member_client(org, "admin")
    # PostgreSQL refuses \u0000 inside jsonb with its own message (naming the escape, the
    # column type): the response says what is wrong without it.
    body = {"sku": "NUL", "name": "Nul", "price": "1.00", "custom_fields": {"a": "x\u0000y"}}
    response = client.post(PRODUCTS, body, format="json")
    text = response.content.decode()
    assert response.status_code == 400, text
    assert "unsupported Unicode" not in text and "jsonb" not in text.lower()
    assert "escape" not in text.lower()
