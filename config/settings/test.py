"""Test settings: the real PostgreSQL (database ``erp_test``; pytest-django creates ``test_erp_test``
and, under xdist, one per worker), LocMem caches, fast hashing, in-memory e-mail."""

import os
import tempfile

from ._env import env  # noqa: F401

os.environ.setdefault("SECRET_KEY", "test-insecure-key")
os.environ.setdefault("DEBUG", "false")
# pytest-django needs CREATEDB, so tests connect as a role that has it (the local superuser).
# TEST_DATABASE_URL (not DATABASE_URL, which a developer's shell may point at the dev database
# as the unprivileged app role) chooses it.
os.environ["DATABASE_URL"] = os.environ.get(
    "TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_test"
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from .base import *  # noqa: E402,F403

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
STATIC_ROOT = tempfile.mkdtemp(prefix="erp-test-static-")  # whitenoise wants it to exist
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# LocMem per alias (the spec's choice for tests); integration tests point them at a real Redis.
CACHES = {
    alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
    for alias in ("default", "permissions", "api_responses")
}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Probe threads must not keep connections open: pytest-django drops the test database at the end.
HEALTH_CHECK_KEEP_CONNECTIONS = False
# Backups in tests run as the test role (the local superuser), whatever the shell exports.
BACKUP_DATABASE_URL = ""
BACKUP_ADMIN_URL = ""
# Tasks run in-process (api.v1.files.tasks.enqueue honours this until the Celery app lands).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
