"""Database maintenance tasks run by beat."""

from core.celery_app.base import erp_task


class BackupUnavailable(RuntimeError):
    """The backup service (``core.db.backups.services.run_nightly_backup``) is not installed."""


@erp_task(name="core.db.tasks.nightly_backup", ignore_result=True, max_retries=2)
def nightly_backup():
    """Back up the database and verify the archive, via ``core.db.backups``.

    Imported lazily so the worker starts even where the backup module is missing; then the task
    fails loudly (counted as a failure in /metrics) instead of pretending to back anything up.
    """
    try:
        from core.db.backups.services import run_nightly_backup
    except ImportError as exc:
        raise BackupUnavailable(
            "core.db.backups.services.run_nightly_backup is not available in this build: no "
            "backup was taken. Deploy the backup module (core/db/backups) or disable the "
            "'erp: nightly backup' periodic task in the admin."
        ) from exc
    return run_nightly_backup()
