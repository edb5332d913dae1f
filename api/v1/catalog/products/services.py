"""Every write to products goes through these actions (one transaction each)."""

from __future__ import annotations

from django.db import transaction

from .models import Product


@transaction.atomic
def create_product(*, organization_id: int, **fields) -> Product:
    return Product.objects.create(organization_id=organization_id, **fields)


@transaction.atomic
def update_product(product: Product, **fields) -> Product:
    for name, value in fields.items():
        setattr(product, name, value)
    product.save()
    return product


@transaction.atomic
def delete_product(product: Product) -> None:
    product.delete()
