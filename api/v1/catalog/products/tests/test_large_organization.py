"""One organization of 1,000,000 products: the custom_fields filter uses the GIN index, and the
list's count is an estimate (EXPLAIN, on the real planner and real statistics)."""

import json

import pytest
from django.db import connection

from api.v1.catalog.products.models import Product

ROWS = 1_000_000
AUDIT_OFF = "ALTER TABLE products_product DISABLE TRIGGER audit_record_change"
AUDIT_ON = "ALTER TABLE products_product ENABLE TRIGGER audit_record_change"


@pytest.fixture(scope="module")
def million(django_db_setup, django_db_blocker):
    """1M products in one organization, loaded once for the module with SQL."""
    from api.v1.base_models.organization.tests.factories import OrganizationFactory

    with django_db_blocker.unblock():
        big = OrganizationFactory(slug="big")
        with connection.cursor() as cursor:
            # Bulk load as an operator would: the GIN index is built once after the load (in
            # this test database) rather than maintained row by row, which is ~10x faster.
            cursor.execute("DROP INDEX products_custom_fields_gin")
            # Unaudited on purpose (docs/operations.md#audit-log-retention): 1M audit rows for
            # a synthetic load would only slow the suite down.
            cursor.execute(AUDIT_OFF)
            cursor.execute(
                """
                INSERT INTO products_product
                    (organization_id, sku, name, price, stock, custom_fields, created_at, updated_at)
                SELECT %s, 'SKU-' || g, 'Product ' || g, 1, 1,
                       jsonb_build_object('color', (ARRAY['red','green','blue'])[g %% 3 + 1],
                                          'batch', g %% 5000),
                       now(), now()
                FROM generate_series(1, %s) g
                """,
                [big.pk, ROWS],
            )
            cursor.execute(
                "CREATE INDEX products_custom_fields_gin ON products_product USING gin (custom_fields)"
            )
            cursor.execute(AUDIT_ON)
            cursor.execute("ANALYZE products_product")
        yield big
        with connection.cursor() as cursor:  # SQL: Django's delete() would load 1M objects
            cursor.execute(AUDIT_OFF)
            cursor.execute("DELETE FROM products_product WHERE organization_id = %s", [big.pk])
            cursor.execute(AUDIT_ON)
        big.delete()


def _plan(queryset) -> str:
    return json.dumps(json.loads(queryset.explain(format="json")))


@pytest.mark.django_db
def test_custom_fields_filter_uses_the_gin_index(million):
    big = million
    # The filter the API builds for ?custom_fields__batch=17 (api/v1/catalog/products/filters.py).
    queryset = Product.objects.filter(organization=big, custom_fields__contains={"batch": 17})
    plan = _plan(queryset)
    assert "products_custom_fields_gin" in plan, plan
    assert queryset.count() == ROWS // 5000


@pytest.mark.django_db
def test_the_list_count_of_a_large_organization_is_an_estimate(million, member_client):
    big = million
    client, _ = member_client(big, "viewer")
    body = client.get("/api/v1/products/", {"page_size": 5}).json()
    assert body["count_is_estimate"] is True
    assert 0.5 * ROWS < body["count"] < 1.5 * ROWS
    assert len(body["results"]) == 5 and body["next"]
