"""``manage.py setup_schedules [--reset]``: ERP Core's periodic tasks (beat, in the database).

Creates the missing schedules and leaves every existing one as it is, so what an operator edited
in the Django admin ("Periodic tasks") survives; this also runs after every ``migrate``.
``--reset`` puts the registered defaults back (timing, task, options, enabled).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.celery_app.schedules import ensure_schedules


class Command(BaseCommand):
    help = (
        "Create the missing periodic task schedules; never changes an existing (possibly "
        "admin-edited) one unless --reset is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="restore every schedule to its registered default (undoes admin edits)",
        )

    def handle(self, *args, reset=False, **options):
        try:
            results = ensure_schedules(reset=reset)
        except DatabaseError as exc:
            raise CommandError(
                f"Could not write schedules ({exc}). Run `manage.py migrate` first."
            ) from exc
        for name, state in results:
            if state == "created":
                state = self.style.SUCCESS(state)
            elif state == "reset":
                state = self.style.WARNING("reset to the default")
            elif state == "edited":
                state = "differs from the default (kept; `setup_schedules --reset` restores it)"
            self.stdout.write(f"{name}: {state}")
