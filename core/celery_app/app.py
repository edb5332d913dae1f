"""The Celery application of ERP Core.

Configuration comes from Django settings (every ``CELERY_*`` name in ``config/settings``), tasks
from each installed app's ``tasks.py`` plus ``CELERY_IMPORTS``. ``config/__init__.py`` imports
this module so the app exists whenever Django does (web, worker, beat, management commands).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("erp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Counters per task name, worker/beat heartbeats (kept in Redis, read by /metrics and health).
from . import signals  # noqa: E402,F401

# Messages held when the broker connection dropped go back on reconnect (consumer.py). By name:
# the worker imports it (celery.bootsteps resolves names); other processes never load it.
app.steps["consumer"].add("core.celery_app.consumer:RedeliverAfterReconnect")
