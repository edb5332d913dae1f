"""Export tasks: build one export; delete expired ones (beat)."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded

from core.celery_app.base import ErpTask, erp_task

from . import services
from .permissions import Perm


class ExportTask(ErpTask):
    organization_scoped = True
    required_permission = Perm.EXPORTS_CREATE

    def on_refused(self, exc, args, kwargs):
        services.fail_export(kwargs["export_id"], f"Refused: {exc}")

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Retries exhausted or a non-transient error: don't leave the export "running".
        services.fail_export(kwargs["export_id"], f"{type(exc).__name__}: {exc}")


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
