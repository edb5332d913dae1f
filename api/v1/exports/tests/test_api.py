import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from api.v1.base_models.organization.models import Role
from api.v1.catalog.products.serializers import ProductSerializer
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.exports.models import Export
from api.v1.exports.services import claim_export, delete_expired_exports
from api.v1.exports.tasks import run_export
from api.v1.sales.orders.serializers import OrderSerializer
from api.v1.sales.orders.services import LineRequest, place_order
from core.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/exports/"


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def create(client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, {"kind": "products", "format": "csv", **body})


def test_products_export_has_api_columns_and_only_own_rows(
    org, other_org, member_client, django_capture_on_commit_callbacks
):
    mine = ProductFactory.create_batch(3, organization=org, custom_fields={"color": "red"})
    ProductFactory.create_batch(2, organization=other_org)
    client, _ = member_client(org, "admin")

    response = create(client, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"id", "status"} and response.json()["status"] == "pending"

    body = client.get(f"{URL}{response.json()['id']}/").json()
    assert body["status"] == "done" and body["row_count"] == 3 and body["error"] == ""
    assert set(body) == {
        "id", "kind", "status", "row_count", "error", "download_url", "attempts", "next_attempt_at"
    }  # fmt: skip
    assert body["attempts"] == 1 and body["next_attempt_at"] is None
    rows = read_csv(client.get(body["download_url"]))
    assert rows[0] == list(ProductSerializer().fields)
    assert [int(r[0]) for r in rows[1:]] == [p.pk for p in mine]
    assert json.loads(rows[1][rows[0].index("custom_fields")]) == {"color": "red"}


def test_orders_export_has_lines_as_json(org, member_client, django_capture_on_commit_callbacks):
    product = ProductFactory(organization=org)
    client, user = member_client(org, "owner")
    order = place_order(
        organization_id=org.pk, user_id=user.pk, lines=[LineRequest(product.pk, 2)], metadata={}
    )
    response = create(client, django_capture_on_commit_callbacks, kind="orders")
    body = client.get(f"{URL}{response.json()['id']}/").json()
    rows = read_csv(client.get(body["download_url"]))
    assert rows[0] == list(OrderSerializer().fields)
    assert len(rows) == 2 and int(rows[1][0]) == order.pk
    lines = json.loads(rows[1][rows[0].index("lines")])
    assert lines == [{"product": product.pk, "quantity": 2, "unit_price": "10.00"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"kind": "widgets"}, "kind"), ({"format": "xlsx"}, "format"), ({"kind": None}, "kind")],
)
def test_unknown_kind_or_format_is_400_naming_the_field(org, member_client, body, field):
    client, _ = member_client(org, "admin")
    response = client.post(URL, {"kind": "products", "format": "csv", **body})
    assert response.status_code == 400
    assert field in response.json()
    assert not Export.objects.exists() and not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"), [("viewer", 403), ("member", 403), ("admin", 202), ("owner", 202)]
)
def test_exports_create_permission(org, member_client, role, expected):
    client, _ = member_client(org, role)
    assert client.post(URL, {"kind": "products", "format": "csv"}).status_code == expected


def test_other_organizations_exports_are_404(
    org, other_org, member_client, django_capture_on_commit_callbacks
):
    theirs, _ = member_client(other_org, "owner")
    export_id = create(theirs, django_capture_on_commit_callbacks).json()["id"]
    client, _ = member_client(org, "owner")
    assert client.get(f"{URL}{export_id}/").status_code == 404
    assert client.get(f"{URL}{export_id}/download/").status_code == 404
    assert client.get(URL).json()["count"] == 0
    viewer, _ = member_client(other_org, "viewer")
    assert viewer.get(f"{URL}{export_id}/download/").status_code == 403


def test_download_before_done_is_404(org, member_client):
    client, _ = member_client(org, "admin")
    export_id = client.post(URL, {"kind": "products", "format": "csv"}).json()["id"]  # no commit
    assert client.get(f"{URL}{export_id}/").json()["download_url"] is None
    assert client.get(f"{URL}{export_id}/download/").status_code == 404


def make_export(org, user, **fields) -> Export:
    return Export.objects.create(
        organization=org,
        created_by=user,
        kind="products",
        format="csv",
        expires_at=timezone.now() + timedelta(days=1),
        **fields,
    )


def test_running_the_task_twice_keeps_one_file_and_one_result(org, member_client):
    ProductFactory.create_batch(2, organization=org)
    _, user = member_client(org, "admin")
    export = make_export(org, user)
    kwargs = {"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk}
    run_export.apply(kwargs=kwargs)
    export.refresh_from_db()
    first_file = export.file.name
    run_export.apply(kwargs=kwargs)  # a redelivery: the export is done, nothing happens
    export.refresh_from_db()
    assert export.status == "done" and export.row_count == 2 and export.attempts == 1
    assert export.file.name == first_file
    assert default_storage.listdir(f"exports/{org.pk}")[1] == [first_file.rsplit("/", 1)[1]]


def test_concurrent_redelivery_finishing_second_discards_its_file(org, member_client):
    ProductFactory(organization=org)
    _, user = member_client(org, "admin")
    export = make_export(org, user)
    from api.v1.exports.services import build_export

    first = claim_export(org.pk, export.pk)  # run 1 claims, then stalls
    run_export.apply(kwargs={"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk})
    build_export(first)  # run 1 finishes late: its file must not replace run 2's
    export.refresh_from_db()
    assert export.status == "done" and export.attempts == 2
    assert default_storage.listdir(f"exports/{org.pk}")[1] == [export.file.name.rsplit("/", 1)[1]]


def test_revoked_permission_is_rechecked_in_the_task(org, member_client):
    _, user = member_client(org, "admin")
    export = make_export(org, user)
    user.memberships.update(role=Role.objects.get(name="viewer"))
    run_export.apply(kwargs={"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk})
    export.refresh_from_db()
    assert export.status == "failed" and "exports.create" in export.error
    assert not export.file.name


def test_cleanup_deletes_expired_exports_and_files(org, member_client):
    _, user = member_client(org, "admin")
    old, fresh = make_export(org, user), make_export(org, user)
    for export in (old, fresh):
        run_export.apply(
            kwargs={"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk}
        )
    old.refresh_from_db()
    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert default_storage.exists(old.file.name)
    assert delete_expired_exports() == 1
    assert not default_storage.exists(old.file.name)
    assert list(Export.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_a_crashing_export_is_marked_failed_not_left_running(org, member_client, monkeypatch):
    _, user = member_client(org, "admin")
    export = make_export(org, user)

    def broken(*args, **kwargs):
        raise ValueError("disk on fire")

    monkeypatch.setattr("api.v1.exports.services.write_csv", broken)
    result = run_export.apply(
        kwargs={"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk},
        throw=False,
    )
    assert result.failed()
    export.refresh_from_db()
    assert export.status == "failed" and "disk on fire" in export.error


def test_a_database_error_is_not_echoed_into_the_export(org, member_client, monkeypatch):
    from django.db import ProgrammingError

    _, user = member_client(org, "admin")
    export = make_export(org, user)

    def broken(*args, **kwargs):
        raise ProgrammingError('relation "secret_internal_table" does not exist')

    monkeypatch.setattr("api.v1.exports.services.write_csv", broken)
    run_export.apply(
        kwargs={"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk},
        throw=False,
    )
    export.refresh_from_db()
    assert export.status == "failed" and "ProgrammingError" in export.error
    assert "secret_internal_table" not in export.error


def test_an_export_waiting_for_its_retry_shows_pending_and_when_not_running(
    org, member_client, monkeypatch
):
    """A transient failure (storage unreachable) parks the retry: the API says pending, with the
    next attempt's time and the attempts so far, instead of "running" for minutes."""
    from celery.exceptions import Retry

    ProductFactory(organization=org)
    client, user = member_client(org, "admin")
    export = make_export(org, user)
    kwargs = {"export_id": export.pk, "organization_id": org.pk, "user_id": user.pk}

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError(111, "storage refused the connection")

    monkeypatch.setattr("api.v1.exports.services.write_csv", unreachable)
    with pytest.raises(Retry):
        run_export.apply(kwargs=kwargs, throw=True)
    body = client.get(f"{URL}{export.pk}/").json()
    parked = OutboxMessage.objects.get(pk__isnull=False)
    assert body["status"] == "pending" and body["attempts"] == 1 and body["error"] == ""
    assert body["next_attempt_at"] is not None and body["download_url"] is None
    assert body["next_attempt_at"][:19] == parked.next_attempt_at.isoformat()[:19]

    monkeypatch.undo()  # the retry runs (the outbox relay republishes it with the same id)
    run_export.apply(kwargs=kwargs, task_id=str(parked.pk), retries=1)
    body = client.get(f"{URL}{export.pk}/").json()
    assert body["status"] == "done" and body["attempts"] == 2 and body["next_attempt_at"] is None
