"""``/ops/`` in a real headless browser: Playwright for Python driving the system Chromium
(installed by scripts/install_test_tools.sh; these tests skip, saying why, without it)."""

from __future__ import annotations

import shutil
import time

import pytest

from api.v1.base_models.user.tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECTIONS = ("components", "postgres", "redis", "celery", "backups", "files")
PASSWORD = "ops-page-Passw0rd"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.skip("no system Chromium (scripts/install_test_tools.sh installs the chromium package)")


@pytest.fixture
def staff_user(transactional_db):
    user = UserFactory(is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def non_staff_session(transactional_db):
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(is_staff=False))
    return client.cookies["sessionid"].value


@pytest.fixture
def browser():
    """Request it after any fixture that touches the database: inside Playwright's sync API the
    code runs in a greenlet, where Django would open (and leak) a connection of its own."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def ops_env(settings, tmp_path, redis_caches):
    """Caches on a throwaway Redis the test can stop; the broker on another; fast refresh."""
    from core.testing.redis import RedisServer

    (tmp_path / "broker").mkdir()
    broker = RedisServer(tmp_path / "broker").start()
    settings.CELERY_BROKER_URL = broker.url_for(3)
    settings.OPS_REFRESH_SECONDS = 1
    settings.OPS_REQUEST_FLUSH_SECONDS = 0.2
    settings.DEBUG = False
    yield redis_caches
    broker.stop()


def _page_with_console(browser):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def _staff_login(page, live_server, user):
    page.goto(f"{live_server.url}/ops/")
    assert "/admin/login/" in page.url  # anonymous: the admin login, then back to /ops/
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/ops/")
    page.wait_for_selector("#section-components")


def _close(page):
    """Stop the page's polling before the live server and the test database go away."""
    page.goto("about:blank")
    page.close()


def test_staff_page_renders_every_section_and_charts(staff_user, browser, live_server, ops_env):
    page, errors = _page_with_console(browser)
    _staff_login(page, live_server, staff_user)
    errors.clear()  # the admin login page's own requests (its favicon) are not under test
    page.reload()
    for name in SECTIONS:
        assert page.locator(f"#section-{name}").count() == 1, name
    page.wait_for_selector("#chart-rate .uplot canvas")
    assert page.locator(".uplot canvas").count() >= 1
    # The page refreshes itself (no reload): the "updated" line comes from a fetch.
    page.wait_for_function(
        "document.getElementById('updated').textContent.startsWith('updated')", timeout=10_000
    )
    assert page.locator("#refresh-error").is_hidden()
    assert errors == []
    _close(page)


def test_non_staff_gets_403(non_staff_session, browser, live_server, ops_env):
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": non_staff_session, "url": live_server.url}])
    page = context.new_page()
    response = page.goto(f"{live_server.url}/ops/")
    assert response.status == 403
    context.close()


def test_cache_redis_stopped_turns_redis_red_within_one_refresh(
    staff_user, browser, live_server, ops_env
):
    page, errors = _page_with_console(browser)
    _staff_login(page, live_server, staff_user)
    errors.clear()
    redis = page.locator("#section-redis")
    assert redis.get_attribute("data-status") == "ok"
    ops_env.stop()  # the cache Redis
    stopped = time.monotonic()
    # One refresh (1 s) plus one server round (bounded by the health deadline, 1 s) and slack.
    page.wait_for_function(
        "document.getElementById('section-redis').dataset.status === 'fail'", timeout=6_000
    )
    assert time.monotonic() - stopped < 6
    assert "DOWN" in redis.inner_text()
    # The page keeps working: later refreshes still arrive and the other sections are there.
    before = page.locator("#updated").inner_text()
    page.wait_for_function(
        f"document.getElementById('updated').textContent !== {before!r}", timeout=6_000
    )
    assert page.locator("#section-postgres").get_attribute("data-status") in ("ok", "warn")
    assert page.locator("#refresh-error").is_hidden()
    # Console errors: none from the page itself (a failed resource would show up here).
    assert errors == []
    _close(page)
