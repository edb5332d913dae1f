"""Row locks for order work, always taken in primary-key order.

Two transactions that lock the same products in the same order can wait for each other but
never deadlock.
"""

from api.v1.catalog.products.models import Product


def lock_products(organization_id: int, product_ids) -> dict[int, Product]:
    rows = (
        Product.objects.select_for_update()
        .filter(organization_id=organization_id, pk__in=set(product_ids))
        .order_by("pk")
        .only("id", "price", "stock", "organization_id")
    )
    return {product.pk: product for product in rows}
