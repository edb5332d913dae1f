"""Fixtures of the files tests: upload helpers and an order to attach files to."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.v1.sales.orders.models import Order
from api.v1.sales.orders.numbering import next_order_number
from core.testing.health import ready_with_details

URL = "/api/v1/files/"


def upload(client, name: str, content: bytes, content_type="application/octet-stream", **extra):
    data = {"file": SimpleUploadedFile(name, content, content_type=content_type), **extra}
    return client.post(URL, data, format="multipart")


def stored_objects(root) -> list[str]:
    """Every regular file under MEDIA_ROOT (relative paths)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def uploader(org, member_client):
    client, _ = member_client(org, "member")
    return client


@pytest.fixture
def order(org):
    return Order.objects.create(organization=org, number=next_order_number(org.pk))


@pytest.fixture
def foreign_order(other_org):
    return Order.objects.create(organization=other_org, number=next_order_number(other_org.pk))


@pytest.fixture
def readiness_probe(client):
    """A function GETting /health/ready/ (probe threads close their connections in tests:
    HEALTH_CHECK_KEEP_CONNECTIONS is off in config.settings.test)."""
    return lambda: ready_with_details(client)
