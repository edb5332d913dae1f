"""Load the small demo dataset (idempotent: running it again changes nothing).

Two organizations (acme, globex), a user of each role in each, a staff user, products and a few
orders. Prints the logins.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from api.v1.base_models.organization.models import Membership, Organization, Role
from api.v1.catalog.products.models import Product
from api.v1.sales.orders.models import Order
from api.v1.sales.orders.services import LineRequest, place_order
from core.permissions.enums import RoleName

DEMO_PASSWORD = "demo-pass-2024"
ORGANIZATIONS = {"acme": "Acme Corporation", "globex": "Globex Inc."}
PRODUCTS_PER_ORG = 25


class Command(BaseCommand):
    help = __doc__

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        roles = {role.name: role for role in Role.objects.all()}
        logins = []
        staff, created = User.objects.get_or_create(
            username="staff", defaults={"email": "staff@example.com", "is_staff": True}
        )
        if created:
            staff.set_password(DEMO_PASSWORD)
            staff.save()
        logins.append(("staff", "-", "-", "staff: may create users (POST /api/v1/users/)"))

        for slug, name in ORGANIZATIONS.items():
            organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
            for role in RoleName:
                username = f"{slug}-{role}"
                user, created = User.objects.get_or_create(
                    username=username, defaults={"email": f"{username}@example.com"}
                )
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
                Membership.objects.get_or_create(
                    user=user, organization=organization, defaults={"role": roles[role]}
                )
                logins.append((username, slug, role, ""))
            for i in range(1, PRODUCTS_PER_ORG + 1):
                Product.objects.get_or_create(
                    organization=organization,
                    sku=f"{slug.upper()}-{i:04d}",
                    defaults={
                        "name": f"{name.split()[0]} item {i}",
                        "price": Decimal(i * 3) + Decimal("0.99"),
                        "stock": 100 + i,
                        "custom_fields": {"color": ["red", "green", "blue"][i % 3], "size": i % 5},
                    },
                )
            if not Order.objects.filter(organization=organization).exists():
                product_ids = list(
                    Product.objects.filter(organization=organization).values_list("id", flat=True)[
                        :3
                    ]
                )
                for n in range(3):
                    place_order(
                        organization_id=organization.pk,
                        user_id=None,
                        lines=[LineRequest(pid, n + 1) for pid in product_ids],
                        metadata={"demo": True, "customer": f"Customer {n + 1}"},
                    )
            self.stdout.write(f"  organization {slug}: ready")

        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Every demo password: {DEMO_PASSWORD}")
        )
        self.stdout.write(f"  {'username':<16} {'organization':<13} {'role':<8}")
        for username, org, role, note in logins:
            self.stdout.write(f"  {username:<16} {org:<13} {role:<8} {note}")
        self.stdout.write(
            "  Try: curl -s -X POST http://127.0.0.1:8000/api/v1/auth/token/ "
            f'-H \'Content-Type: application/json\' -d \'{{"username":"acme-owner","password":"{DEMO_PASSWORD}"}}\''
        )
