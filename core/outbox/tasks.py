"""The periodic outbox relay (scheduled by beat every ``OUTBOX_RELAY_INTERVAL`` seconds)."""

from core.celery_app.base import erp_task

from .services import relay_pending


@erp_task(name="core.outbox.tasks.relay_outbox", ignore_result=True)
def relay_outbox() -> dict:
    """Publish what the on-commit relay could not (broker down at the time)."""
    return relay_pending()
