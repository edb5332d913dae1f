"""``manage.py smoke`` against a live HTTP server (pytest-django's ``live_server``: the app
served by a real WSGI server in a thread, on this test database), step by step, and failing."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from core.management.commands.smoke import ensure_smoke_account
from core.permissions.enums import RoleName
from core.testing.ports import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the server thread must see the rows

STEPS = ["login", "list products", "place order", "cancel order", "export", "upload file",
         "delete file"]  # fmt: skip


@pytest.fixture
def smoke_settings(settings, tmp_path):
    settings.ALLOWED_HOSTS = ["*"]
    settings.SMOKE_USERNAME = "smoke"
    settings.SMOKE_PASSWORD = "smoke-pass-for-tests"  # noqa: S105
    settings.SMOKE_ORGANIZATION = "smoke"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    ensure_smoke_account(username="smoke", password="smoke-pass-for-tests", organization="smoke")
    return settings


def run_smoke(capsys, **options):
    try:
        call_command("smoke", **options)
        error = None
    except CommandError as exc:
        error = exc
    return capsys.readouterr().out, error


def test_every_step_passes_against_a_live_server(live_server, smoke_settings, capsys):
    from api.v1.sales.orders.models import Order

    out, error = run_smoke(capsys, base_url=live_server.url)
    assert error is None, out
    for step in STEPS:
        assert f"  ok {step} (" in out, out
    assert "All 7 smoke steps passed" in out
    order = Order.objects.get()  # placed and cancelled in the smoke organization
    assert order.status == "cancelled" and order.organization.slug == "smoke"

    out, error = run_smoke(capsys, base_url=live_server.url)  # again: reuses the smoke product
    assert error is None and "is #" in out, out


def test_a_failing_step_is_named_and_stops_the_run(live_server, smoke_settings, capsys):
    from core.tenancy.swappable import get_membership_model, get_role_model

    out, error = run_smoke(capsys, base_url=live_server.url)  # as owner: the product exists
    assert error is None, out
    # A member may order but not export: step 5 fails, 1-4 passed, 6-7 never ran.
    get_membership_model().objects.filter(user__username="smoke").update(
        role=get_role_model().objects.get(name=RoleName.MEMBER)
    )
    out, error = run_smoke(capsys, base_url=live_server.url)
    assert error is not None and "smoke step 5 'export' failed" in str(error)
    assert "FAILED export: start export: HTTP 403" in out, out
    assert "  ok cancel order (" in out and "upload file" not in out


def test_exit_status_is_non_zero_when_the_server_is_unreachable(smoke_settings):
    port = free_port()
    result = subprocess.run(
        [sys.executable, "manage.py", "smoke", "--base-url", f"http://127.0.0.1:{port}",
         "--timeout", "2"],
        capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
             "SMOKE_PASSWORD": "x"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "FAILED login" in result.stdout and "smoke step 1 'login' failed" in result.stderr


def test_setup_needs_the_password(settings):
    settings.SMOKE_PASSWORD = ""
    with pytest.raises(CommandError, match="SMOKE_PASSWORD is not set"):
        call_command("smoke", "--setup")
