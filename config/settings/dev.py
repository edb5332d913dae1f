"""Local development: safe defaults for this machine (PostgreSQL and Redis on localhost)."""

import os

from ._env import email_settings, env  # noqa: F401  (reads .env before the defaults below)

os.environ.setdefault("SECRET_KEY", "dev-insecure-key-not-for-production")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DATABASE_URL", "postgres://erp_app:erp_app_dev@127.0.0.1:5432/erp_dev")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault(
    "DATABASE_OWNER_URL", "postgres://erp_owner:erp_owner_dev@127.0.0.1:5432/erp_dev"
)
os.environ.setdefault("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Backups: pg_dump as the schema owner, restore/verify as the administrative role.
os.environ.setdefault("BACKUP_DATABASE_URL", os.environ["DATABASE_OWNER_URL"])
os.environ.setdefault("BACKUP_ADMIN_URL", os.environ["DATABASE_ADMIN_URL"])

from .base import *  # noqa: E402,F403

# Local file storage needs MEDIA_ROOT to exist (readiness and `manage.py doctor` check it).
os.makedirs(MEDIA_ROOT, exist_ok=True)  # noqa: F405

# E-mail goes to the console (the worker's log under `make run`) unless EMAIL_URL/EMAIL_BACKEND
# say otherwise.
globals().update(email_settings("django.core.mail.backends.console.EmailBackend"))
