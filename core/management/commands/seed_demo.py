"""Load the small demo dataset (idempotent: running it again changes nothing).

Every installed module contributes its part (``core.registry.register_demo_data``), in
INSTALLED_APPS order: today two organizations (acme, globex), a user of each role in each, a
staff user, products and a few orders. Prints the logins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from core.registry import registry

DEMO_PASSWORD = "demo-pass-2024"


@dataclass
class DemoContext:
    """What demo loaders share: the password, the demo organizations by slug, the logins."""

    password: str = DEMO_PASSWORD
    organizations: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)

    def user(self, username: str, **defaults):
        """The demo user ``username`` (created with the demo password the first time)."""
        user, created = get_user_model().objects.get_or_create(username=username, defaults=defaults)
        if created:
            user.set_password(self.password)
            user.save()
        return user

    def login(self, username: str, *, organization: str = "-", role: str = "-", note: str = ""):
        self.logins.append((username, organization, role, note))


class Command(BaseCommand):
    help = __doc__

    @transaction.atomic
    def handle(self, *args, **options):
        demo = DemoContext()
        for item in registry["demo_data"].values():
            item.func(demo)
        for slug in demo.organizations:
            self.stdout.write(f"  organization {slug}: ready")

        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Every demo password: {DEMO_PASSWORD}")
        )
        self.stdout.write(f"  {'username':<16} {'organization':<13} {'role':<8}")
        for username, org, role, note in demo.logins:
            self.stdout.write(f"  {username:<16} {org:<13} {role:<8} {note}")
        self.stdout.write(
            "  Try: curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token/ "
            f'-H \'Content-Type: application/json\' -d \'{{"username":"acme-owner","password":"{DEMO_PASSWORD}"}}\''
        )
