# ruff: noqa: F811  (pytest fixtures imported from test_ops_browser)
"""The production Content-Security-Policy in a real headless Chromium (issue 12, "What is
public"): the admin, /ops/ (uPlot) and the API docs work under it with no CSP violation."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse

from api.v1.base_models.user.tests.factories import UserFactory
from core.ops.tests.test_ops_browser import (  # noqa: F401  (fixtures)
    PASSWORD,
    _close,
    _staff_login,
    browser,
    ops_env,
)

expect = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency").expect
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Records every violation the page reports (the browser also logs each to the console).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def superuser(transactional_db):
    user = UserFactory(is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def csp(settings):
    settings.CONTENT_SECURITY_POLICY = settings.ERP_CONTENT_SECURITY_POLICY
    return settings.CONTENT_SECURITY_POLICY


def _page(browser):
    page = browser.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    return page, console


def _violations(page, console) -> list[str]:
    return page.evaluate("window.__cspViolations") + [
        line for line in console if "Content Security Policy" in line
    ]


def test_prod_settings_send_the_policy_and_close_metrics():
    from core.tests.test_settings_and_checks import run_prod

    code = (
        "from django.conf import settings as s; "
        "print(s.CONTENT_SECURITY_POLICY == s.ERP_CONTENT_SECURITY_POLICY, "
        "s.METRICS_REQUIRE_TOKEN, 'csp.middleware.CSPMiddleware' in s.MIDDLEWARE)"
    )
    result = run_prod({}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", "True", "True"]
    result = run_prod({"CSP_ENABLED": "false"}, "shell", "-c", code)
    assert result.stdout.splitlines()[-1].split()[0] == "False"


def test_admin_ops_and_docs_work_under_the_policy(csp, superuser, browser, live_server, ops_env):
    page, console = _page(browser)
    response = page.goto(f"{live_server.url}/admin/login/")
    header = response.headers["content-security-policy"]
    assert "script-src 'self'" in header and "default-src 'self'" in header
    _staff_login(page, live_server, superuser)  # the admin login form, then /ops/
    page.wait_for_selector("#chart-rate .uplot canvas")
    # (expect, not wait_for_function: its string predicate is an eval, which the policy blocks)
    expect(page.locator("#updated")).to_have_text(re.compile(r"^updated"), timeout=10_000)
    assert _violations(page, console) == []

    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#site-name")
    page.goto(f"{live_server.url}/admin/auth/group/")  # a changelist (filters, actions, JS)
    page.wait_for_selector("#changelist")
    assert _violations(page, console) == []

    page.goto(f"{live_server.url}/api/v1/docs/")
    page.wait_for_selector(".swagger-ui .information-container .title", timeout=20_000)
    page.wait_for_selector(".opblock", timeout=20_000)  # the schema was fetched and rendered
    assert _violations(page, console) == []

    try:
        redoc = reverse("redoc")
    except NoReverseMatch:
        redoc = None
    if redoc:
        page.goto(f"{live_server.url}{redoc}")
        page.wait_for_selector(".api-content", timeout=20_000)
        assert _violations(page, console) == []
    _close(page)


def test_an_inline_script_is_blocked(csp, browser, live_server, settings):
    """The check above can fail: a page with an inline script reports a violation."""
    settings.ROOT_URLCONF = "core.tests.error_urls"
    page, console = _page(browser)
    page.goto(f"{live_server.url}/api/v1/test-inline/")
    page.wait_for_load_state("load")
    assert any("script-src" in v for v in _violations(page, console))
    _close(page)


@pytest.fixture
def browsable_org(superuser):
    """Rows written before the browser starts (Playwright's loop makes the ORM refuse later)."""
    from api.v1.base_models.organization.tests.factories import OrganizationFactory
    from api.v1.catalog.products.tests.factories import ProductFactory
    from conftest import add_member

    org = OrganizationFactory(slug="csp-org")
    add_member(org, "admin", superuser)
    ProductFactory(organization=org, name="Browsable anvil")
    return org


def test_browsable_api_works_under_the_policy(csp, superuser, browsable_org, browser, live_server):
    """DRF's browsable API (its login page, then a list with the raw JSON form) under the prod
    policy: scripts from /static/rest_framework/, no violation."""
    page, console = _page(browser)
    page.goto(f"{live_server.url}/api-auth/login/?next=/api/v1/products/%3Forganization%3Dcsp-org")
    page.fill("input[name=username]", superuser.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url(re.compile(r".*/api/v1/products/\?organization=csp-org$"))
    expect(page.locator("body")).to_contain_text("Browsable anvil")
    page.wait_for_selector("textarea[name=_content]")
    assert _violations(page, console) == []
    _close(page)
