"""Create (when missing) the database, the owner/migration role and the application role.

Defaults come from the environment: DATABASE_ADMIN_URL (a superuser, e.g.
postgres://postgres@127.0.0.1:5432/postgres), DATABASE_OWNER_URL and DATABASE_URL. Safe to run on
every deploy: existing objects are kept, privileges are re-applied.
"""

import os

from django.core.management.base import BaseCommand, CommandError

from core.db.provisioning import ProvisioningError, provision


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--admin-url", default=os.environ.get("DATABASE_ADMIN_URL"))
        parser.add_argument("--owner-url", default=os.environ.get("DATABASE_OWNER_URL"))
        parser.add_argument("--app-url", default=os.environ.get("DATABASE_URL"))

    def handle(self, *args, admin_url, owner_url, app_url, **options):
        missing = [
            name
            for name, value in (
                ("DATABASE_ADMIN_URL / --admin-url", admin_url),
                ("DATABASE_OWNER_URL / --owner-url", owner_url),
                ("DATABASE_URL / --app-url", app_url),
            )
            if not value
        ]
        if missing:
            raise CommandError(f"Set {', '.join(missing)} (see .env.example).")
        try:
            provision(admin_url, owner_url, app_url, report=lambda m: self.stdout.write(f"  {m}"))
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS("Database provisioned."))
