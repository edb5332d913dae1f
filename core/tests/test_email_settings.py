"""Every settings module honours EMAIL_BACKEND / EMAIL_URL; dev defaults to the console backend."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3J9-vQ2x!mZp7@Lr5#Tw8^Yb1&Hn4*Dc6(Fg0)Sa2_Ue5+Io9=Pl3-Xy7Wq"
PROD_ENV = {
    "SECRET_KEY": GOOD_KEY,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "erp.example.com",
    "DATABASE_URL": "postgres://erp_app:pw@127.0.0.1:5432/erp_prod",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
FILE = "django.core.mail.backends.filebased.EmailBackend"
NAMES = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
NAMES += ("EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_FILE_PATH", "EMAIL_TIMEOUT")


def email_settings(module: str, **overrides: str) -> dict:
    """The EMAIL_* settings ``module`` yields in a fresh interpreter with ``overrides`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    env.pop("DEFAULT_FROM_EMAIL", None)
    if module.endswith(".prod"):
        env.update(PROD_ENV)
    env.update(overrides, DJANGO_SETTINGS_MODULE=module)
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {NAMES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("module", "default"),
    [
        ("config.settings.dev", CONSOLE),
        ("config.settings.test", LOCMEM),
        ("config.settings.prod", SMTP),
    ],
)
def test_default_backend_per_settings_module(module, default):
    assert email_settings(module)["EMAIL_BACKEND"] == default


@pytest.mark.parametrize(
    "module", ["config.settings.dev", "config.settings.test", "config.settings.prod"]
)
def test_every_settings_module_honours_email_backend(module, tmp_path):
    got = email_settings(module, EMAIL_BACKEND=FILE, EMAIL_FILE_PATH=str(tmp_path))
    assert got["EMAIL_BACKEND"] == FILE and got["EMAIL_FILE_PATH"] == str(tmp_path)


@pytest.mark.parametrize(
    "module", ["config.settings.dev", "config.settings.test", "config.settings.prod"]
)
def test_every_settings_module_honours_email_url(module):
    got = email_settings(
        module, EMAIL_URL="smtp+tls://mailer:s%40cret@smtp.example.com:587?timeout=7"
    )
    assert got == {
        **got,
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "s@cret",
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 7,
    }
    assert email_settings(module, EMAIL_URL="consolemail://")["EMAIL_BACKEND"] == CONSOLE


def test_email_backend_overrides_the_url_backend():
    got = email_settings("config.settings.dev", EMAIL_URL="smtp://h:25", EMAIL_BACKEND=LOCMEM)
    assert got["EMAIL_BACKEND"] == LOCMEM and got["EMAIL_HOST"] == "h"
