import pytest
from django.core.management import call_command

from api.v1.base_models.organization.models import Membership, Organization
from api.v1.catalog.products.models import Product
from api.v1.sales.orders.models import Order


@pytest.mark.django_db
def test_seed_demo_is_idempotent(capsys):
    call_command("seed_demo")
    counts = [m.objects.count() for m in (Organization, Membership, Product, Order)]
    call_command("seed_demo")
    assert [m.objects.count() for m in (Organization, Membership, Product, Order)] == counts
    assert counts[0] == 2 and counts[1] == 8 and counts[3] == 6
    out = capsys.readouterr().out
    assert "acme-owner" in out and "globex-viewer" in out and "demo-pass" in out
