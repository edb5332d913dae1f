"""Django project package. Importing it loads the Celery app, so ``celery -A config`` works and
``@shared_task`` functions bind to ERP Core's app in every process."""

from core.celery_app import app as celery_app

__all__ = ("celery_app",)
