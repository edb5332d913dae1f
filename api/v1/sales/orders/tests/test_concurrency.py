"""Many clients ordering the last units of one product at once, on the real PostgreSQL."""

import threading

import pytest
from django.db import connection

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.models import Order
from conftest import add_member, client_for

STOCK = 7
BUYERS = 16


@pytest.mark.django_db(transaction=True)
def test_exactly_stock_orders_succeed_and_stock_never_goes_negative():
    organization = OrganizationFactory()
    contested = ProductFactory(organization=organization, stock=STOCK)
    # A second product locked in the opposite line order by half of the buyers: without
    # pk-ordered locking this is the classic deadlock.
    other = ProductFactory(organization=organization, stock=1000)
    clients = [client_for(add_member(organization, "member"), organization) for _ in range(BUYERS)]
    start = threading.Barrier(BUYERS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def buy(index, client):
        lines = [{"product": contested.pk, "quantity": 1}, {"product": other.pk, "quantity": 1}]
        if index % 2:
            lines.reverse()
        try:
            start.wait()
            statuses.append(
                client.post("/api/v1/orders/", {"lines": lines}, format="json").status_code
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(statuses) == [201] * STOCK + [409] * (BUYERS - STOCK)
    contested.refresh_from_db()
    other.refresh_from_db()
    assert contested.stock == 0
    assert other.stock == 1000 - STOCK
    assert Order.objects.filter(organization=organization).count() == STOCK
