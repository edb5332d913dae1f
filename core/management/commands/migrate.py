"""``manage.py migrate`` as the schema owner when ``DATABASE_OWNER_URL`` is set (core.db.owner).

Django's own command otherwise; ``core`` comes before no other app defining ``migrate``, so this
one is what ``manage.py migrate`` and ``call_command("migrate")`` run.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate

from core.db.owner import describe_owner, owner_connection


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        with owner_connection(options["database"]) as as_owner:
            if as_owner and options["verbosity"] >= 1:
                self.stdout.write(f"Connecting as the schema owner ({describe_owner()}).")
            return super().handle(*args, **options)
