"""Delete audit records older than AUDIT_RETENTION_DAYS, as the owner role.

The application role can't delete audit records (grants); run this with the owner's URL::

    DATABASE_URL="$DATABASE_OWNER_URL" python manage.py prune_audit_log [--days N] [--dry-run]

from cron / a systemd timer / a Kubernetes CronJob (docs/operations.md#audit-log-retention).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

DOC = "docs/operations.md#audit-log-retention"


class Command(BaseCommand):
    help = "Delete audit records older than AUDIT_RETENTION_DAYS (run as the owner role)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days (default: AUDIT_RETENTION_DAYS).",
        )
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args, days, batch_size, dry_run, **options):
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days / AUDIT_RETENTION_DAYS must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        with connection.cursor() as cursor:
            cursor.execute("SELECT has_table_privilege('audit_record', 'DELETE'), current_user")
            may_delete, role = cursor.fetchone()
            if not may_delete and not dry_run:
                raise CommandError(
                    f"Role {role} may not delete audit records (the application role never can). "
                    f'Run as the owner role: DATABASE_URL="$DATABASE_OWNER_URL" python manage.py '
                    f"prune_audit_log ({DOC})."
                )
            cursor.execute("SELECT count(*) FROM audit_record WHERE created_at < %s", [cutoff])
            (due,) = cursor.fetchone()
        verb = "would delete" if dry_run else "deleting"
        self.stdout.write(
            f"{verb} {due} audit records older than {days} days ({cutoff:%Y-%m-%d %H:%M} UTC)"
        )
        if dry_run or not due:
            return
        deleted = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM audit_record WHERE id IN (SELECT id FROM audit_record "
                    "WHERE created_at < %s ORDER BY id LIMIT %s)",
                    [cutoff, batch_size],
                )
                batch = cursor.rowcount
            deleted += batch
            if batch:
                self.stdout.write(f"  {deleted}/{due}")
            if batch < batch_size:
                break
        self.stdout.write(self.style.SUCCESS(f"deleted {deleted} audit records"))
