"""Celery tasks of the files app: scan one upload, clean up orphans (scheduled by beat).

Both are ``ErpTask``s; the scan is queued through the outbox by the ``file.stored`` event
(subscription in ``apps.py``) or by ``manage.py scan_files``.
"""

from __future__ import annotations

from core.celery_app.base import ErpTask, erp_task

from . import services
from .cleanup import cleanup_orphans
from .scanning import ScannerError

__all__ = ["cleanup_orphan_files", "scan_file"]

SCAN_MAX_RETRIES = 8


class FileTask(ErpTask):
    organization_scoped = True


@erp_task(
    base=FileTask, bind=True, max_retries=SCAN_MAX_RETRIES, name="api.v1.files.tasks.scan_file"
)
def scan_file(self, *, file_id: int, organization_id: int) -> str | None:
    """Scan upload ``file_id``; retry with backoff while the scanner is unreachable, then give up
    and mark it ``failed`` (it stays undownloadable while scanning is on)."""
    try:
        return services.scan_stored_file(file_id)
    except ScannerError as exc:
        if self.request.retries >= self.max_retries:
            services.mark_scan_failed(file_id, str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=min(600, 10 * 2**self.request.retries)) from exc


@erp_task(name="api.v1.files.tasks.cleanup_orphan_files")
def cleanup_orphan_files() -> dict:
    """Remove stored objects without metadata and metadata without objects (see cleanup.py)."""
    return cleanup_orphans(apply=True).as_dict()
