"""Fixtures of the invoices tests: placed orders to invoice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.services import LineRequest, place_order

URL = "/api/v1/invoices/"


def place(organization, *quantities, user=None):
    """A placed order of ``organization``: one line per quantity, each of its own product."""
    lines = [
        LineRequest(ProductFactory(organization=organization, price=Decimal("2.50")).pk, q)
        for q in quantities
    ]
    return place_order(
        organization_id=organization.pk,
        user_id=user.pk if user else None,
        lines=lines,
        metadata={},
    )


@pytest.fixture
def order(org):
    return place(org, 2, 1)


@pytest.fixture
def foreign_order(other_org):
    return place(other_org, 1)


def action(client, invoice_id: int, transition: str):
    return client.post(f"{URL}{invoice_id}/{transition}/")
