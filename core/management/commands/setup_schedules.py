"""``manage.py setup_schedules``: create/update ERP Core's periodic tasks (beat, in the DB).

Idempotent; also runs automatically after every ``migrate``. Schedules are then visible and
editable in the Django admin under "Periodic tasks".
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.celery_app.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Create or update ERP Core's periodic task schedules (idempotent)."

    def handle(self, *args, **options):
        try:
            results = ensure_schedules()
        except DatabaseError as exc:
            raise CommandError(
                f"Could not write schedules ({exc}). Run `manage.py migrate` first."
            ) from exc
        for name, created in results:
            verb = self.style.SUCCESS("created") if created else "up to date"
            self.stdout.write(f"{name}: {verb}")
