"""Demo data of the products module: 25 products in each demo organization."""

from decimal import Decimal

from .models import Product

PRODUCTS_PER_ORG = 25


def load_demo(demo) -> None:
    for slug, organization in demo.organizations.items():
        for i in range(1, PRODUCTS_PER_ORG + 1):
            Product.objects.get_or_create(
                organization=organization,
                sku=f"{slug.upper()}-{i:04d}",
                defaults={
                    "name": f"{organization.name.split()[0]} item {i}",
                    "price": Decimal(i * 3) + Decimal("0.99"),
                    "stock": 100 + i,
                    "custom_fields": {"color": ["red", "green", "blue"][i % 3], "size": i % 5},
                },
            )
