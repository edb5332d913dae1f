"""``manage.py backup [--verify]``: pg_dump + MEDIA_ROOT archive + manifest under BACKUP_DIR,
then retention (BACKUP_KEEP_LAST / BACKUP_KEEP_DAYS). See docs/backups.md."""

from django.core.management.base import BaseCommand, CommandError

from core.db.backups.manifest import BackupError
from core.db.backups.services import create_backup


class Command(BaseCommand):
    help = "Take a backup set (database dump + media + manifest); --verify restores it to check."

    def add_arguments(self, parser):
        parser.add_argument(
            "--verify", action="store_true", help="verify the set right after taking it"
        )

    def handle(self, *args, verify, **options):
        def progress(message):
            if options["verbosity"] >= 1:
                self.stdout.write(f"  {message}")

        try:
            backup_set = create_backup(verify=verify, progress=progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"{backup_set.id}"))
