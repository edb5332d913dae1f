"""Row locks for order work, always taken in primary-key order.

Two transactions that lock the same products in the same order can wait for each other but
never deadlock.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import connection

from api.v1.catalog.products.models import Product

_TABLE = Product._meta.db_table

# One round trip: lock the wanted products in pk order (ORDER BY below FOR UPDATE, so the plan
# locks rows as it reads them sorted), then take the stock of every line only if *all* of them
# are in stock. Returns each locked product with its stock before the update and whether the
# update happened (it happens for all rows or for none).
_TAKE_STOCK_SQL = f"""
WITH wanted AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(quantities)s::bigint[]) AS w(id, quantity)
), locked AS MATERIALIZED (
    SELECT p.id, p.price, p.stock FROM {_TABLE} p
    WHERE p.organization_id = %(organization)s AND p.id = ANY(%(ids)s::bigint[])
    ORDER BY p.id FOR UPDATE
), enough AS MATERIALIZED (
    SELECT count(*) = cardinality(%(ids)s::bigint[]) AS ok FROM locked JOIN wanted USING (id)
    WHERE locked.stock >= wanted.quantity
), taken AS (
    UPDATE {_TABLE} p SET stock = p.stock - wanted.quantity, updated_at = now()
    FROM wanted, enough WHERE enough.ok AND p.id = wanted.id
        AND p.organization_id = %(organization)s
    RETURNING p.id
)
SELECT locked.id, locked.price, locked.stock, (SELECT ok FROM enough) FROM locked ORDER BY id
"""


class LockedProduct(NamedTuple):
    pk: int
    price: object  # Decimal
    stock: int  # before this order took its quantities


def lock_products(organization_id: int, product_ids) -> dict[int, Product]:
    rows = (
        Product.objects.select_for_update()
        .filter(organization_id=organization_id, pk__in=set(product_ids))
        .order_by("pk")
        .only("id", "price", "stock", "organization_id")
    )
    return {product.pk: product for product in rows}


def take_stock(
    organization_id: int, wanted: dict[int, int]
) -> tuple[dict[int, LockedProduct], bool]:
    """Lock the organization's products ``wanted`` ({product id: quantity}) and, if every one
    exists and has the quantity in stock, take it. Returns ({id: product as it was}, taken).
    Products of other organizations are not locked and not returned."""
    ids = sorted(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            _TAKE_STOCK_SQL,
            {"ids": ids, "quantities": [wanted[i] for i in ids], "organization": organization_id},
        )
        rows = cursor.fetchall()
    products = {pk: LockedProduct(pk, price, stock) for pk, price, stock, _ in rows}
    taken = bool(rows) and bool(rows[0][3]) and len(rows) == len(ids)
    if taken:
        Product.objects.all().invalidate_cache({organization_id})
    return products, taken
