"""Dataset for bench/api.py (run inside Django: manage.py shell -c ...)."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from knox.models import AuthToken

from api.v1.base_models.organization.models import Membership, Organization, Role

ORGANIZATIONS = 10
PRODUCTS_PER_ORGANIZATION = 1_000


def load() -> None:
    organizations = Organization.objects.bulk_create(
        Organization(name=f"Bench {i}", slug=f"bench-{i}") for i in range(ORGANIZATIONS)
    )
    with connection.cursor() as cursor:
        for organization in organizations:
            cursor.execute(
                """
                INSERT INTO products_product
                    (organization_id, sku, name, price, stock, custom_fields, created_at, updated_at)
                SELECT %s, 'SKU-' || g, 'Product ' || g, (g %% 500) + 0.99, 1000000000,
                       jsonb_build_object('color', (ARRAY['red','green','blue'])[g %% 3 + 1], 'size', g %% 7),
                       now(), now()
                FROM generate_series(1, %s) AS g
                """,
                [organization.pk, PRODUCTS_PER_ORGANIZATION],
            )
        cursor.execute("ANALYZE products_product")
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-pass-2024")
    Membership.objects.create(
        user=user, organization=organizations[0], role=Role.objects.get(name="admin")
    )
    _, token = AuthToken.objects.create(user=user)
    first = organizations[0].products_first_id = organizations[0].pk and _first_product_id(
        organizations[0].pk
    )
    print(
        f"TOKEN={token} ORG={organizations[0].slug} FIRST_PRODUCT={first} PRICE={Decimal('0.99')}"
    )


def _first_product_id(organization_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id) FROM products_product WHERE organization_id = %s", [organization_id]
        )
        return cursor.fetchone()[0]
