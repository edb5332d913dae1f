"""Readiness check of the outbox (non-critical: an old backlog reports ``degraded``)."""

from django.conf import settings

from core.health.registry import register

from .services import outbox_backlog


@register("outbox")
def outbox() -> dict:
    pending, oldest = outbox_backlog()
    limit = settings.OUTBOX_BACKLOG_MAX_AGE
    if oldest is not None and oldest > limit:
        raise RuntimeError(
            f"{pending} task(s) waiting, oldest {oldest:.0f}s (limit {limit}s): broker or relay down?"
        )
    return {"pending": pending, "oldest_age_s": None if oldest is None else round(oldest, 1)}
