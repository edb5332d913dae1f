"""``manage.py restore <backup-id|latest> [--target-db NAME] [--force]``.

Checks checksums, restores into a staging database with ``pg_restore -j --exit-on-error`` and
only then replaces the target (its sessions are terminated). A non-empty target needs
``--force``. Media are restored when the target is the live database (or with ``--media-to``).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.db.backups.manifest import BackupError
from core.db.backups.services import restore_backup


class Command(BaseCommand):
    help = "Restore a backup set into the live database or --target-db."

    def add_arguments(self, parser):
        parser.add_argument("backup_id", help="a set id from list_backups, or 'latest'")
        parser.add_argument("--target-db", help="database to restore into (default: the live one)")
        parser.add_argument(
            "--force", action="store_true", help="replace a non-empty target database"
        )
        parser.add_argument(
            "--keep-previous",
            action="store_true",
            help="keep the replaced database, renamed <name>_pre_restore_<epoch>",
        )
        parser.add_argument("--media-to", type=Path, help="also unpack media into this directory")

    def handle(self, *args, backup_id, target_db, force, keep_previous, media_to, **options):
        try:
            result = restore_backup(
                backup_id,
                target_db=target_db,
                force=force,
                keep_previous=keep_previous,
                media_to=media_to,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        except BackupError as exc:
            raise CommandError(f"{exc}\nThe target database was not modified.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {result['backup']} into {result['database']} "
                f"({result['restore_seconds']}s)"
            )
        )
