"""``manage.py verify_backup <backup-id|latest>``: restore into a scratch database, compare row
counts with the manifest, ``migrate --check``, drop the scratch database, record the result."""

from django.core.management.base import BaseCommand, CommandError

from core.db.backups.manifest import BackupError
from core.db.backups.services import verify_backup


class Command(BaseCommand):
    help = "Verify a backup set by restoring it into a scratch database."

    def add_arguments(self, parser):
        parser.add_argument("backup_id", help="a set id from list_backups, or 'latest'")

    def handle(self, *args, backup_id, **options):
        try:
            result = verify_backup(
                backup_id, progress=lambda message: self.stdout.write(f"  {message}")
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"OK (restore took {result['rto_seconds']}s)"))
