"""Start-up cost of a management command (issue 12, "Start-up time"): what ``manage.py help``
imports, counted in a fresh interpreter (never timed here; ``make bench-startup`` times it).

``AppConfig.ready()`` registers views, serializers, tasks and doctor/ops/demo functions by dotted
path (``core.registry.Ref``), so a command that serves no request and queues no task imports
none of DRF's views and serializers, drf-spectacular's schema machinery, redis-py, boto3,
python-magic, Sentry or the Celery worker. (The Celery *app* itself is built: django-celery-beat's
models import ``celery.schedules``, which imports ``celery.app`` whatever we do.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.registry import Ref, registry

ROOT = Path(__file__).resolve().parents[2]

# Modules only a request, a worker or an upload needs.
PER_REQUEST = [
    "rest_framework.views",
    "rest_framework.serializers",
    "rest_framework.generics",
    "drf_spectacular.openapi",
    "django.test",
    "redis",
    "django_redis.client",
    "boto3",
    "storages.backends.s3",
    "magic",
    "sentry_sdk",
    "requests",
    "celery.worker.consumer",
    "core.celery_app.consumer",
    "api.v1.catalog.products.views",
    "api.v1.sales.orders.tasks",
]

PROBE = """
import contextlib, io, json, sys
from django.core.management import execute_from_command_line
with contextlib.redirect_stdout(io.StringIO()):
    execute_from_command_line(["manage.py", *sys.argv[1:]])
print(json.dumps({"loaded": sorted(m for m in %r if m in sys.modules), "count": len(sys.modules)}))
"""


def imported_by(*command: str, settings: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings}
    env.pop("SENTRY_DSN", None)
    run = subprocess.run(
        [sys.executable, "-c", PROBE % (PER_REQUEST,), *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("settings_module", ["config.settings.dev", "config.settings.test"])
def test_manage_help_imports_no_per_request_module(settings_module):
    result = imported_by("help", settings=settings_module)
    assert result["loaded"] == []
    # Django with ERP Core's apps and settings; was 1522 before the lazy registrations.
    assert result["count"] < 1200, result["count"]


def test_the_probe_sees_what_a_request_imports():
    """The probe can fail: ``check --deploy``-free ``check`` loads the URLconf (views, DRF)."""
    result = imported_by("check", settings="config.settings.test")
    assert "rest_framework.views" in result["loaded"]
    assert "api.v1.catalog.products.views" in result["loaded"]


def lazy_references():
    for store, items in registry.items():
        values = items.values() if isinstance(items, dict) else items
        for item in values:
            for entry in item if isinstance(item, list) else [item]:
                for value in getattr(entry, "__dict__", {}).values():
                    if isinstance(value, Ref):
                        yield store, value


def test_every_registered_dotted_path_resolves():
    """A typo in a dotted path would otherwise surface only at the first request or event."""
    refs = list(lazy_references())
    stores = {store for store, _ in refs}
    assert {"routes", "export_sources", "demo_data", "doctor_checks", "ops_panels"} <= stores
    assert "event_subscribers" in stores
    for store, ref in refs:
        assert ref.resolve() is not None, (store, ref.path)


def test_the_wsgi_application_loads_redis_before_it_serves():
    """The opposite of a lean command: a server loads redis-py at start-up (config/wsgi.py), so
    concurrent first imports from request threads never see a partially initialised module."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env.pop("SENTRY_DSN", None)
    wanted = ["redis.connection", "redis.sentinel", "django_redis.client"]
    run = subprocess.run(
        [sys.executable, "-c",
         f"import json, sys, config.wsgi; print(json.dumps([m in sys.modules for m in {wanted!r}]))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [True, True, True]
