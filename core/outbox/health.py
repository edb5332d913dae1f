"""Readiness check of the outbox (non-critical: an old backlog reports ``degraded``)."""

from django.conf import settings

from core.health.registry import register

from .dead_letters import dead_letter_summary
from .services import outbox_backlog, parked_retries


@register("outbox")
def outbox() -> dict:
    pending, oldest = outbox_backlog()
    limit = settings.OUTBOX_BACKLOG_MAX_AGE
    if oldest is not None and oldest > limit:
        raise RuntimeError(
            f"{pending} task(s) waiting, oldest {oldest:.0f}s (limit {limit}s): broker or relay down?"
        )
    return {"pending": pending, "oldest_age_s": None if oldest is None else round(oldest, 1)}


@register("dead_letters")
def dead_letters() -> dict:
    """Degraded (not 503) while tasks that gave up wait for an operator: nothing is lost, but
    someone has to look (``manage.py retry_dead_tasks``)."""
    count, oldest = dead_letter_summary()
    if count:
        raise RuntimeError(
            f"{count} dead-lettered task(s), the oldest failed {oldest:.0f}s ago: list them with "
            "`manage.py retry_dead_tasks`, re-send with `--all` once the cause is fixed"
        )
    return {"count": 0, "parked_retries": parked_retries()}
