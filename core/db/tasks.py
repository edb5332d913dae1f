"""Database maintenance tasks run by beat."""

from core.celery_app.base import erp_task
from core.db.backups.services import run_nightly_backup


@erp_task(name="core.db.tasks.nightly_backup", ignore_result=True, max_retries=2)
def nightly_backup():
    """Back up the database, verify the set in a scratch database and apply retention
    (docs/backups.md). Fails (counted in /metrics) when the backup or its verification fails."""
    return run_nightly_backup()
