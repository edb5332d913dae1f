"""Celery tasks of the files app: scan one upload, clean up orphans (scheduled by beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from .scanning import ScannerError

__all__ = ["cleanup_orphan_files", "enqueue", "scan_file"]

SCAN_MAX_RETRIES = 8


def enqueue(task, *args) -> None:
    """Queue ``task(*args)`` (call it from ``transaction.on_commit``).

    With ``CELERY_TASK_ALWAYS_EAGER`` (tests, dev) the task runs in-process through
    ``apply(throw=False)``: its retries then run inline to the end (the final outcome is what
    counts) instead of the first ``Retry`` propagating, as ``delay()`` would do with
    ``CELERY_TASK_EAGER_PROPAGATES``. A task that finally fails still raises here.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        result = task.apply(args=args, throw=False)
        if result.failed():
            raise result.result
    else:
        task.delay(*args)


@shared_task(bind=True, max_retries=SCAN_MAX_RETRIES, acks_late=True)
def scan_file(self, file_id: int) -> str | None:
    """Scan upload ``file_id``; retry with backoff while the scanner is unreachable, then give up
    and mark it ``failed`` (it stays undownloadable while scanning is on)."""
    from . import services

    try:
        return services.scan_stored_file(file_id)
    except ScannerError as exc:
        if self.request.retries >= self.max_retries:
            services.mark_scan_failed(file_id, str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@shared_task
def cleanup_orphan_files() -> dict:
    """Remove stored objects without metadata and metadata without objects (see cleanup.py)."""
    from .cleanup import cleanup_orphans

    return cleanup_orphans(apply=True).as_dict()
