"""Export tasks: build one export; delete expired ones (beat)."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError

from core.celery_app.base import ErpTask, erp_task

from . import services
from .permissions import Perm

logger = logging.getLogger(__name__)


class ExportTask(ErpTask):
    organization_scoped = True
    required_permission = Perm.EXPORTS_CREATE

    def on_refused(self, exc, args, kwargs):
        services.fail_export(kwargs["export_id"], f"Refused: {exc}")

    def on_retry_scheduled(self, exc, args, kwargs, next_attempt_at):
        services.wait_for_retry(kwargs["export_id"], next_attempt_at)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Retries exhausted or a non-transient error: don't leave the export "running". The
        # database's own error text (schema, values) goes to the log, not to the API's `error`.
        if isinstance(exc, DatabaseError):
            logger.error("export %s failed: %s: %s", kwargs["export_id"], type(exc).__name__, exc)
            message = f"{type(exc).__name__}: the database refused the export (details logged)."
        else:
            message = f"{type(exc).__name__}: {exc}"
        services.fail_export(kwargs["export_id"], message)


@erp_task(base=ExportTask, name="api.v1.exports.tasks.run_export")
def run_export(*, export_id: int, organization_id: int, user_id: int | None = None) -> None:
    """Build the export's file. Idempotent: a finished export is left alone."""
    export = services.claim_export(organization_id, export_id)
    if export is None:
        return
    try:
        services.build_export(export)
    except SoftTimeLimitExceeded:
        services.fail_export(export_id, "The export took too long and was stopped.")
        raise


@erp_task(name="api.v1.exports.tasks.cleanup_expired_exports", ignore_result=True)
def cleanup_expired_exports() -> int:
    return services.delete_expired_exports()
