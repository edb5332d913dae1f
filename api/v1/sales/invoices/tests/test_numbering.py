"""Invoice numbers are gap-free per organization under concurrency and rollbacks (real
PostgreSQL, one connection per thread)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.sales.invoices.models import Invoice
from api.v1.sales.invoices.services import create_invoice, issue_invoice

from .conftest import place

ISSUERS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_take_distinct_gap_free_numbers():
    organization = OrganizationFactory()
    drafts = [
        create_invoice(organization_id=organization.pk, order_id=place(organization, 1).pk).pk
        for _ in range(ISSUERS)
    ]
    start = threading.Barrier(ISSUERS)
    errors: list[BaseException] = []

    def issue(invoice_id):
        try:
            start.wait()
            issue_invoice(organization_id=organization.pk, invoice_id=invoice_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(pk,)) for pk in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    numbers = sorted(Invoice.objects.filter(pk__in=drafts).values_list("number", flat=True))
    assert numbers == list(range(1, ISSUERS + 1))


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_issue_gives_its_number_back():
    organization = OrganizationFactory()
    first, second = (
        create_invoice(organization_id=organization.pk, order_id=place(organization, 1).pk).pk
        for _ in range(2)
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        assert issue_invoice(organization_id=organization.pk, invoice_id=first).number == 1
        raise RuntimeError("the caller's transaction fails after issuing")
    assert Invoice.objects.get(pk=first).number is None
    assert issue_invoice(organization_id=organization.pk, invoice_id=second).number == 1
    assert issue_invoice(organization_id=organization.pk, invoice_id=first).number == 2
