"""Run ``manage.py`` in a subprocess against a scratch database (migration and backup tests)."""

import os
import subprocess
import sys

from django.conf import settings

from core.db import server


def manage_env(dbname: str, **extra: str) -> dict[str, str]:
    """Environment for a ``manage.py`` subprocess (test settings) on database ``dbname``."""
    admin = server.admin_endpoint()
    password = f":{admin.password}" if admin.password else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        # config.settings.test reads TEST_DATABASE_URL (and ignores DATABASE_URL).
        "TEST_DATABASE_URL": f"postgres://{admin.user}{password}@{admin.host}:{admin.port}/{dbname}",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def manage(dbname: str, *args: str, check: bool = True, **extra: str):
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), *args],
        env=manage_env(dbname, **extra),
        capture_output=True,
        text=True,
        check=check,
    )
