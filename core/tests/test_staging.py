"""``config.settings.staging``: prod's rules, its own key prefixes, and a visible marker
(``X-Environment: staging`` on every response, ``[STAGING]`` in the admin header)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "staging-check-" + "p4Vq9LmZ2wXr7TnB" * 3

PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="staging.example.com")
live = client.get("/health/live/")
login = client.get("/admin/login/", secure=True)
print(json.dumps({
    "live_status": live.status_code,
    "live_header": live.headers.get("X-Environment"),
    "admin_status": login.status_code,
    "admin_marked": "ERP Core [STAGING]" in login.content.decode(),
    "admin_header": login.headers.get("X-Environment"),
    "cache_prefix": settings.CACHE_KEY_PREFIX,
    "celery_prefix": settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"],
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "debug": settings.DEBUG,
}))
"""


def staging_env(**extra) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": "/tmp",
        "DJANGO_SETTINGS_MODULE": "config.settings.staging",
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "staging.example.com",
        "DATABASE_URL": "postgres://erp_app:x@127.0.0.1:5432/erp_staging",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    env.update(extra)
    return env


def run(env, code=PROBE):
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_staging_marks_responses_and_the_admin_and_keeps_prod_rules():
    result = run(staging_env())
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["live_status"] == 200 and seen["live_header"] == "staging"
    assert seen["admin_status"] == 200 and seen["admin_marked"] is True
    assert seen["admin_header"] == "staging"
    # Its own keys even on a Redis server shared by mistake; prod's HTTPS rules.
    assert seen["cache_prefix"] == "erp-staging" and seen["celery_prefix"] == "erp-staging:"
    assert seen["ssl_redirect"] is True and seen["debug"] is False


def test_staging_refuses_what_prod_refuses():
    result = run(
        staging_env(DEBUG="true", SECRET_KEY="change-me"), code="import django; django.setup()"
    )
    assert result.returncode != 0
    assert "Refusing to start with prod settings" in result.stderr
    assert "DEBUG is on" in result.stderr and "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_no_marker_outside_staging(client):
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert "X-Environment" not in response.headers
