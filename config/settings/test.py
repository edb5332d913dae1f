"""Test settings: the real PostgreSQL (database ``erp_test``; pytest-django creates ``test_erp_test``
and, under xdist, one per worker), LocMem caches, fast hashing, in-memory e-mail."""

import os
import tempfile

from ._env import email_settings, env  # noqa: F401

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
# Worker subprocesses of integration tests write e-mail to files the test can read.
globals().update(email_settings("django.core.mail.backends.locmem.EmailBackend"))
# Not the broker/results databases of the Redis DB plan (3, 4): eager unit tests publish
# nothing, and integration tests start their own redis-server (core/celery_app/testing.py).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/13")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6379/13")
# Eager in the pytest process; worker/beat subprocesses of integration tests turn it off.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
# Every task checks (tests create and delete organizations); bench/celery.py sets the default.
CELERY_ORGANIZATION_CHECK_TTL = env.float("CELERY_ORGANIZATION_CHECK_TTL", default=0)
CELERY_TASK_EAGER_PROPAGATES = True
# Monitoring keys written by eager tasks: one namespace per test process, expiring.
CELERY_MONITOR_KEY_PREFIX = env.str(
    "CELERY_MONITOR_KEY_PREFIX", default=f"erp:celery:test:{os.getpid()}:"
)
CELERY_MONITOR_KEY_TTL = 600
# LocMem per alias (the spec's choice for tests); integration tests point them at a real Redis.
CACHES = {
    alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
    for alias in ("default", "permissions", "api_responses")
}
# Quiet unless asked (integration tests run workers with LOG_LEVEL=INFO to read their lines).
LOGGING["root"]["level"] = env.str("LOG_LEVEL", default="WARNING")  # noqa: F405
# Probe threads must not keep connections open: pytest-django drops the test database at the end.
HEALTH_CHECK_KEEP_CONNECTIONS = False
# Migrations in tests run as the test role too (a shell's DATABASE_OWNER_URL names the dev database).
DATABASE_OWNER = None
# Backups in tests run as the test role (the local superuser), whatever the shell exports.
BACKUP_DATABASE_URL = ""
BACKUP_ADMIN_URL = ""
LOGGING["loggers"]["celery"]["level"] = env.str("LOG_LEVEL", default="WARNING")  # noqa: F405
