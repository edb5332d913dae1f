"""The browsable API (issue 12, "Browsable API"): a logged-in session user in a browser sees DRF's
HTML pages on /api/v1/..., picking the organization with ``?organization=<slug or id>`` (or the
header); JSON clients are served exactly as before; errors stay JSON."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # a browser's Accept
PASSWORD = "browse-Secret-77"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def browser_user(org, other_org):
    """A member of two organizations (so a request must name one), logged in with a session."""
    user = UserFactory()
    user.set_password(PASSWORD)
    user.save()
    add_member(org, "admin", user)
    add_member(other_org, "viewer", user)
    client = Client(enforce_csrf_checks=True)
    form = client.get("/api-auth/login/")  # as a browser: the form and its CSRF cookie first
    assert form.status_code == 200
    response = client.post(
        "/api-auth/login/",
        {
            "username": user.username,
            "password": PASSWORD,
            "next": "/api/v1/",
            "csrfmiddlewaretoken": form.context["csrf_token"],
        },
    )
    assert response.status_code == 302, response.content[:500]
    return client, user


def test_session_user_sees_the_browsable_api_with_the_data(browser_user, org, other_org):
    client, _ = browser_user
    ProductFactory(organization=org, name="Acme anvil")
    ProductFactory(organization=other_org, name="Globex gizmo")
    response = client.get(PRODUCTS, {"organization": org.slug}, HTTP_ACCEPT=HTML)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Acme anvil" in page and "Globex gizmo" not in page
    assert "csrfmiddlewaretoken" in page or "csrfToken" in page  # the raw form posts with CSRF
    # The id selects the same organization; the header does too.
    by_id = client.get(PRODUCTS, {"organization": other_org.pk}, HTTP_ACCEPT=HTML)
    assert by_id.status_code == 200
    assert "Globex gizmo" in by_id.content.decode() and "Acme anvil" not in by_id.content.decode()
    by_header = client.get(PRODUCTS, HTTP_ACCEPT=HTML, HTTP_X_ORGANIZATION=org.slug)
    assert by_header.status_code == 200 and "Acme anvil" in by_header.content.decode()


def test_only_the_raw_json_form_is_rendered(browser_user, org, other_org):
    """DRF's HTML form renders a related field as a <select> of every row its queryset holds,
    of every organization: the page offers the raw JSON form only (core.api.renderers)."""
    client, _ = browser_user
    ProductFactory(organization=other_org, name="Globex secret widget")
    response = client.get(PRODUCTS, {"organization": org.slug}, HTTP_ACCEPT=HTML)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_content"' in page  # the raw-data form (a JSON body, posted with CSRF)
    assert 'name="sku"' not in page  # no HTML form built from the serializer's fields
    assert "Globex secret widget" not in page


def test_organization_parameter_of_a_foreign_organization_is_refused_like_the_header(
    browser_user, db
):
    from api.v1.base_models.organization.tests.factories import OrganizationFactory

    client, _ = browser_user
    stranger = OrganizationFactory(slug="initech")
    for value in (stranger.slug, str(stranger.pk), "no-such-org", "9" * 40):
        by_param = client.get(PRODUCTS, {"organization": value}, HTTP_ACCEPT=HTML)
        by_header = client.get(PRODUCTS, HTTP_ACCEPT=HTML, HTTP_X_ORGANIZATION=value)
        assert by_param.status_code == by_header.status_code == 403, value
        # Errors under /api/ are JSON, for a browser too.
        assert by_param["Content-Type"].startswith("application/json")
        assert by_param.json()["detail"] == by_header.json()["detail"]


def test_without_a_choice_a_member_of_two_organizations_is_told_how_to_pick(browser_user):
    client, _ = browser_user
    response = client.get(PRODUCTS, HTTP_ACCEPT=HTML)
    assert response.status_code == 400
    assert "?organization=" in str(response.json())


def test_session_writes_need_the_csrf_token(browser_user, org):
    client, _ = browser_user
    refused = client.post(
        f"{PRODUCTS}?organization={org.slug}",
        {"sku": "CSRF-1", "name": "x", "price": "1.00"},
        content_type="application/json",
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        f"{PRODUCTS}?organization={org.slug}",
        {"sku": "CSRF-1", "name": "x", "price": "1.00"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == 201, accepted.content[:300]


def test_token_json_clients_are_unchanged(member_client, org):
    client, _ = member_client(org, "admin")
    ProductFactory(organization=org, name="Acme anvil")
    for accept in (None, "*/*", "application/json"):
        extra = {"HTTP_ACCEPT": accept} if accept else {}
        response = client.get(PRODUCTS, **extra)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json", accept
        assert response.json()["results"][0]["name"] == "Acme anvil"


def test_anonymous_browser_gets_json_401(db):
    response = Client().get(PRODUCTS, HTTP_ACCEPT=HTML)
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")


def test_browsable_api_can_be_switched_off():
    code = (
        "from django.conf import settings as s; "
        "print(len(s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']))"
    )
    for value, expected in (("true", "2"), ("false", "1")):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        run = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env={**env, "API_BROWSABLE": value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-1000:]
        assert run.stdout.strip().splitlines()[-1] == expected


def test_the_page_logs_out_with_a_form_not_an_inline_handler(browser_user, org):
    client, _ = browser_user
    page = client.get(PRODUCTS, {"organization": org.slug}, HTTP_ACCEPT=HTML).content.decode()
    assert "onclick" not in page  # the prod CSP (script-src 'self') blocks inline handlers
    assert 'action="/api-auth/logout/' in page
    response = client.post(
        "/api-auth/logout/?next=/api/v1/products/",
        {"csrfmiddlewaretoken": client.cookies["csrftoken"].value},
    )
    assert response.status_code in (200, 302)
    assert client.get(PRODUCTS, {"organization": org.slug}, HTTP_ACCEPT=HTML).status_code == 401


def test_rendering_the_page_leaks_no_organization_context(browser_user, org):
    """The page re-checks permissions while rendering (after the view reset the organization
    ContextVar): the renderer must not leave an organization set for the next request."""
    from core.tenancy.context import _current

    client, _ = browser_user
    assert client.get(PRODUCTS, {"organization": org.slug}, HTTP_ACCEPT=HTML).status_code == 200
    assert _current.get() is None
