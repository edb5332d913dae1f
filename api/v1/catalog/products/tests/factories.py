"""factory_boy factories of the products module (shared by every app's tests)."""

from decimal import Decimal

import factory

from api.v1.base_models.organization.tests.factories import OrganizationFactory

from ..models import Product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    organization = factory.SubFactory(OrganizationFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("10.00")
    stock = 100
    custom_fields = factory.LazyFunction(dict)
