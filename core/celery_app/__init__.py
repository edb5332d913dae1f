"""Celery for ERP Core: the app, the base task class, beat heartbeat and monitoring.

``celery -A config worker`` (or ``-A core.celery_app``) finds the app; ``docs/celery.md`` has
the operator's view.
"""

from .app import app

__all__ = ["app"]
