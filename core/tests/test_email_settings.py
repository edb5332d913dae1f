"""Every settings module honours EMAIL_BACKEND / EMAIL_URL; dev defaults to the console backend.

Each settings module is imported in a fresh interpreter (settings are read once per process);
the variable combinations go through ``email_settings()``, the one function all modules call.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings._env import email_settings

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
URL = "smtp+tls://mailer:s%40cret@smtp.example.com:587?timeout=7"


def settings_in_subprocess(module: str, **overrides: str) -> dict:
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
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
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
def test_each_settings_module_has_its_default_and_honours_email_url(module, default):
    assert settings_in_subprocess(module)["EMAIL_BACKEND"] == default
    got = settings_in_subprocess(module, EMAIL_URL=URL, EMAIL_FILE_PATH="/var/mail/erp")
    assert got == {
        **got,
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "s@cret",
        "EMAIL_USE_TLS": True,
        "EMAIL_TIMEOUT": 7,
        "EMAIL_FILE_PATH": "/var/mail/erp",
    }


@pytest.fixture
def clean_email_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("EMAIL_") or name == "DEFAULT_FROM_EMAIL":
            monkeypatch.delenv(name)
    return monkeypatch


def test_email_backend_and_file_path_override(clean_email_env, tmp_path):
    clean_email_env.setenv("EMAIL_BACKEND", FILE)
    clean_email_env.setenv("EMAIL_FILE_PATH", str(tmp_path))
    got = email_settings(CONSOLE)
    assert got["EMAIL_BACKEND"] == FILE and got["EMAIL_FILE_PATH"] == str(tmp_path)


def test_email_backend_overrides_the_url_backend(clean_email_env):
    clean_email_env.setenv("EMAIL_URL", "smtp://h:25")
    clean_email_env.setenv("EMAIL_BACKEND", LOCMEM)
    got = email_settings(CONSOLE)
    assert got["EMAIL_BACKEND"] == LOCMEM and got["EMAIL_HOST"] == "h"


@pytest.mark.parametrize(
    ("url", "backend"),
    [("consolemail://", CONSOLE), ("memorymail://", LOCMEM), ("smtp+ssl://h:465", SMTP)],
)
def test_email_url_schemes(clean_email_env, url, backend):
    clean_email_env.setenv("EMAIL_URL", url)
    assert email_settings(SMTP)["EMAIL_BACKEND"] == backend
