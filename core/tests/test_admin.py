"""The admin: every model registered, no changelist runs a query per row, and a superuser without
any membership works across organizations."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.v1.base_models.organization.models import Membership, Organization
from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.exports.models import Export
from api.v1.files.models import FileStorage
from api.v1.sales.invoices.services import create_invoice, issue_invoice
from api.v1.sales.orders.models import Order
from api.v1.sales.orders.services import LineRequest, place_order
from conftest import add_member
from core.outbox.models import OutboxMessage, TaskEffect

pytestmark = pytest.mark.django_db

# Models that deliberately have no admin page of their own, and why.
NOT_IN_ADMIN = {
    "contenttypes.contenttype": "framework internal",
    "sessions.session": "framework internal",
    "auth.permission": "edited through users and groups",
    "admin.logentry": "the admin's own history",
    "authtoken.token": "DRF's admin shows it as authtoken.tokenproxy (keys masked)",
    "django_celery_beat.periodictasks": "beat's change marker",
    "orders.orderline": "inline of the order",
    "invoices.invoiceline": "inline of the invoice",
}


def test_every_model_has_an_admin():
    missing = sorted(
        model._meta.label_lower
        for model in apps.get_models()
        if model not in admin.site._registry
        and model._meta.label_lower not in NOT_IN_ADMIN
        and not model._meta.auto_created
    )
    assert not missing, f"register these in their app's admin.py: {missing}"


def _rows(n: int) -> None:
    """n more rows of every model the admin lists, spread over two organizations."""
    user = UserFactory()
    for org in (OrganizationFactory(), OrganizationFactory()):
        add_member(org, "admin", user)
        for i in range(n):
            product = ProductFactory(organization=org, stock=1000)
            order = place_order(
                organization_id=org.pk,
                user_id=user.pk,
                lines=[LineRequest(product_id=product.pk, quantity=1)],
                metadata={},
            )
            issue_invoice(
                organization_id=org.pk,
                invoice_id=create_invoice(organization_id=org.pk, order_id=order.pk).pk,
            )
            FileStorage.objects.create(
                organization=org,
                file=f"t/{org.pk}-{i}-{order.pk}.txt",
                original_name="a.txt",
                size=1,
                content_type="text/plain",
                sha256="0" * 64,
                uploaded_by=user,
                attached_type=ContentType.objects.get_for_model(Order),
                attached_id=order.pk,
            )
            Export.objects.create(
                organization=org,
                kind="products",
                format="csv",
                created_by=user,
                expires_at=timezone.now(),
            )
            OutboxMessage.objects.create(task_name="x", organization_id=org.pk)
            TaskEffect.objects.create(key=f"k-{org.pk}-{i}-{order.pk}", organization_id=org.pk)


def _changelist_queries(client) -> dict[str, int]:
    counts = {}
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[opts.label] = len(queries)
    return counts


def test_no_changelist_runs_a_query_per_row(admin_client):
    _rows(1)
    few = _changelist_queries(admin_client)
    _rows(4)
    many = _changelist_queries(admin_client)
    assert Product.objects.count() >= 10 and Order.objects.count() >= 10
    grew = {label: (few[label], many[label]) for label in few if many[label] > few[label]}
    assert not grew, f"changelists whose query count grows with the rows: {grew}"


def test_superuser_without_membership_uses_the_admin_across_organizations(client):
    _rows(1)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    assert not Membership.objects.filter(user=superuser).exists()
    client.force_login(superuser)
    first, second = Organization.objects.order_by("-pk")[:2]
    listed = client.get(reverse("admin:products_product_changelist")).content.decode()
    for org in (first, second):
        product = Product.objects.get(organization=org)
        assert product.sku in listed
        filtered = client.get(
            reverse("admin:products_product_changelist"), {"organization__id__exact": org.pk}
        ).content.decode()
        assert product.sku in filtered
        url = reverse("admin:products_product_change", args=[product.pk])
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "organization": org.pk,
                "sku": product.sku,
                "name": "Renamed by the superuser",
                "price": "9.99",
                "stock": 5,
                "custom_fields": "{}",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        product.refresh_from_db()
        assert (product.name, product.stock) == ("Renamed by the superuser", 5)
        order = Order.objects.get(organization=org)
        page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
        assert page.status_code == 200
        assert order.lines.get().product.sku in page.content.decode()  # the lines inline
        assert client.get(reverse("admin:files_filestorage_changelist")).status_code == 200
