"""Demo data of the orders module: three orders in each demo organization."""

from api.v1.catalog.products.models import Product

from .models import Order
from .services import LineRequest, place_order


def load_demo(demo) -> None:
    for organization in demo.organizations.values():
        if Order.objects.filter(organization=organization).exists():
            continue
        product_ids = list(
            Product.objects.filter(organization=organization).values_list("id", flat=True)[:3]
        )
        for n in range(3):
            place_order(
                organization_id=organization.pk,
                user_id=None,
                lines=[LineRequest(pid, n + 1) for pid in product_ids],
                metadata={"demo": True, "customer": f"Customer {n + 1}"},
            )
