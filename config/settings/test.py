"""Test settings: the real PostgreSQL (database ``erp_test``; pytest-django creates ``test_erp_test``
and, under xdist, one per worker), LocMem caches, fast hashing, in-memory e-mail."""

import os

from ._env import env  # noqa: F401

os.environ.setdefault("SECRET_KEY", "test-insecure-key")
os.environ.setdefault("DEBUG", "false")
# pytest-django needs CREATEDB, so tests connect as a role that has it (the local superuser).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: E402,F403

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Tasks run in-process (api.v1.files.tasks.enqueue honours this until the Celery app lands).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
