"""Order numbers: 1, 2, 3... per organization, allocated at placement, unique under concurrency."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, transaction

from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders import services
from api.v1.sales.orders.models import Order

URL = "/api/v1/orders/"


def _place(org, product, quantity=1):
    return services.place_order(
        organization_id=org.pk,
        user_id=None,
        lines=[services.LineRequest(product.pk, quantity)],
        metadata={},
    )


@pytest.mark.django_db
def test_numbers_count_per_organization(org, other_org):
    mine, theirs = (
        ProductFactory(organization=org, stock=10),
        ProductFactory(organization=other_org, stock=10),
    )
    numbers = [_place(org, mine).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert _place(other_org, theirs).number == 1


@pytest.mark.django_db
def test_failed_placement_gives_the_number_back(org):
    product = ProductFactory(organization=org, stock=1)
    assert _place(org, product).number == 1
    with pytest.raises(services.InsufficientStock):
        _place(org, product)
    product.stock = 5
    product.save()
    assert _place(org, product).number == 2


@pytest.mark.django_db
def test_number_is_unique_per_organization_in_the_database(org):
    order = _place(org, ProductFactory(organization=org, stock=5))
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(organization_id=org.pk, number=order.number, total=0)


@pytest.mark.django_db
def test_number_in_api_output_and_tenancy(org, other_org, member_client):
    product = ProductFactory(organization=org, stock=5)
    client, _ = member_client(org, "member")
    response = client.post(URL, {"lines": [{"product": product.pk, "quantity": 1}]})
    assert response.status_code == 201, response.content
    assert response.json()["number"] == 1
    foreign = _place(other_org, ProductFactory(organization=other_org, stock=5))
    assert client.get(f"{URL}{foreign.pk}/").status_code == 404
    assert [o["number"] for o in client.get(URL).json()["results"]] == [1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_get_distinct_numbers(org):
    product = ProductFactory(organization=org, stock=100)

    def place(_):
        try:
            return _place(org, product).number
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(place, range(12)))
    assert sorted(numbers) == list(range(1, 13))
