"""``manage.py safe_migrate``: the deploy-time migrate (docs/migrations.md).

Defaults: backup + verify first when ``SAFE_MIGRATE_BACKUP`` (true in prod settings);
``MIGRATION_LOCK_TIMEOUT`` 5s, ``MIGRATION_STATEMENT_TIMEOUT`` 30min,
``MIGRATION_LOCK_RETRIES`` 5 with backoff ``MIGRATION_RETRY_BACKOFF`` 2s doubling.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.db.backups.manifest import BackupError
from core.db.backups.services import create_backup
from core.db.owner import describe_owner, owner_connection
from core.db.safe_migrate import MigrationFailed, apply_with_retries, pending_plan


class Command(BaseCommand):
    help = "Apply migrations with a verified backup first, lock timeouts and retries."

    def add_arguments(self, parser):
        parser.add_argument("--plan", action="store_true", help="only show the plan")
        parser.add_argument(
            "--skip-backup",
            action="store_true",
            help="do not take the pre-migration backup even if SAFE_MIGRATE_BACKUP is on",
        )

    def handle(self, *args, **options):
        with owner_connection() as as_owner:
            if as_owner:
                self.stdout.write(f"Connecting as the schema owner ({describe_owner()}).")
            return self._handle(**options)

    def _handle(self, *, plan, skip_backup, **options):
        migrations = pending_plan()
        if not migrations:
            self.stdout.write("No migrations to apply.")
            return
        self.stdout.write(self.style.MIGRATE_HEADING(f"Plan ({len(migrations)}):"))
        for migration in migrations:
            kind = "atomic" if migration.atomic else "non-atomic"
            self.stdout.write(f"  {migration.app_label}.{migration.name} ({kind})")
        if plan:
            return
        if settings.SAFE_MIGRATE_BACKUP and not skip_backup:
            self.stdout.write("Taking and verifying a backup first...")
            try:
                backup_set = create_backup(
                    verify=True, progress=lambda m: self.stdout.write(f"  {m}")
                )
            except BackupError as exc:
                raise CommandError(
                    f"Pre-migration backup failed, refusing to migrate: {exc}\nFix the backup, or "
                    "re-run with --skip-backup if you accept migrating without one."
                ) from exc
            self.stdout.write(self.style.SUCCESS(f"  backup {backup_set.id} verified"))
        elif skip_backup:
            self.stdout.write(self.style.WARNING("Migrating WITHOUT a pre-migration backup."))
        total = 0.0
        for migration in migrations:
            try:
                applied = apply_with_retries(migration, say=self.stdout.write)
            except MigrationFailed as exc:
                raise CommandError(
                    f"{exc}\nMigrations before it are applied; fix the cause and re-run "
                    "safe_migrate (or restore the pre-migration backup)."
                ) from exc
            total += applied.seconds
            retried = f", {applied.attempts} attempts" if applied.attempts > 1 else ""
            self.stdout.write(f"  applied {applied.label} in {applied.seconds:.3f}s{retried}")
        self.stdout.write(
            self.style.SUCCESS(f"Applied {len(migrations)} migration(s) in {total:.1f}s.")
        )
