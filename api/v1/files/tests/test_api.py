import hashlib
import json

import pytest

from api.v1.files.models import FileStorage, ScanStatus
from api.v1.files.validation import DOCX, XLSX

from . import samples
from .conftest import URL, stored_objects, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("report.pdf", samples.pdf(), "application/pdf"),
        ("pixel.png", samples.png(), "image/png"),
        ("photo.jpg", samples.jpeg(), "image/jpeg"),
        ("anim.gif", samples.gif(), "image/gif"),
        ("pic.webp", samples.webp(), "image/webp"),
        ("prices.csv", samples.csv_bytes(), "text/csv"),
        ("notes.txt", samples.text(), "text/plain"),
        ("letter.docx", samples.docx(), DOCX),
        ("sheet.xlsx", samples.xlsx(), XLSX),
        # No extension: the content alone decides.
        ("scan", samples.pdf(), "application/pdf"),
        # CSV and plain text are the same bytes to a human: either extension is fine.
        ("prices.txt", samples.csv_bytes(), "text/csv"),
    ],
)
def test_upload_detects_type_from_content(uploader, settings, name, content, expected):
    response = upload(uploader, name, content, content_type="application/x-lies")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "size",
        "content_type",
        "sha256",
        "created_at",
        "attached_to",
        "scan_status",
    }
    assert body["content_type"] == expected
    assert body["name"] == name
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["attached_to"] is None
    assert body["scan_status"] == ScanStatus.NOT_SCANNED
    record = FileStorage.objects.get(pk=body["id"])
    # The key is generated: nothing of the client's name leaks into the storage path.
    assert record.storage_key.startswith(f"files/{record.organization_id}/")
    assert name.split(".")[0] not in record.storage_key
    assert (settings.MEDIA_ROOT / record.storage_key).read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content", "detected"),
    [
        ("invoice.pdf", samples.windows_exe(), "application/vnd.microsoft.portable-executable"),
        ("setup.exe", samples.windows_exe(), "application/vnd.microsoft.portable-executable"),
        ("notes.txt", samples.elf(), "application/x-executable"),
        ("letter.docx", samples.docm(), "application/vnd.ms-word.document.macroEnabled.12"),
        ("archive.xlsx", samples.plain_zip(), "application/zip"),
        # An allowed type under another allowed type's name is a mismatch too.
        ("contract.pdf", samples.png(), "image/png"),
        ("sheet.xlsx", samples.docx(), DOCX),
        ("setup.exe", samples.png(), "image/png"),
    ],
)
def test_disallowed_or_mismatched_content_is_415_and_stores_nothing(
    uploader, settings, name, content, detected
):
    response = upload(uploader, name, content, content_type="application/pdf")
    assert response.status_code == 415, response.content
    body = response.json()
    assert body["detected_content_type"] == detected
    assert detected in body["file"][0]
    assert not FileStorage.objects.exists()
    assert stored_objects(settings.MEDIA_ROOT) == []


def test_file_names_are_sanitised(uploader):
    long_name = "a" * 300 + ".txt"
    response = upload(uploader, long_name, samples.text())
    assert response.status_code == 201
    assert response.json()["name"] == "a" * 251 + ".txt"
    response = upload(uploader, "..\\..\\windows\\evil\u202etxt.pdf", samples.pdf())
    assert response.status_code == 201
    assert response.json()["name"] == "eviltxt.pdf"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "file"),
        ({"file": "just a string"}, "file"),
    ],
)
def test_missing_file_is_400(uploader, data, field):
    response = uploader.post(URL, data, format="multipart")
    assert response.status_code == 400
    assert field in response.json()


def test_zero_byte_file_is_400(uploader, settings):
    response = upload(uploader, "empty.txt", b"")
    assert response.status_code == 400
    assert response.json() == {"file": ["The submitted file is empty."]}
    assert stored_objects(settings.MEDIA_ROOT) == []


def test_several_files_are_400_and_leave_nothing(uploader, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # spool to disk, to see the temp files go too
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    files = [SimpleUploadedFile(f"n{i}.txt", samples.text()) for i in range(2)]
    response = uploader.post(URL, {"file": files}, format="multipart")
    assert response.status_code == 400
    assert "one file" in response.json()["file"][0]
    response = uploader.post(
        URL,
        {"file": files[0], "other": SimpleUploadedFile("x.txt", samples.text())},
        format="multipart",
    )
    assert response.status_code == 400
    assert not FileStorage.objects.exists()
    assert stored_objects(settings.MEDIA_ROOT) == []
    assert list((tmp_path / "spool").iterdir()) == []


def test_json_body_is_415(uploader):
    response = uploader.post(URL, {"file": "x"}, format="json")
    assert response.status_code == 415


def test_attach_to_own_order_and_filter(uploader, order, org):
    attach = json.dumps({"type": "orders.order", "id": order.pk})
    response = upload(uploader, "po.pdf", samples.pdf(), attach_to=attach)
    assert response.status_code == 201, response.content
    assert response.json()["attached_to"] == {"type": "orders.order", "id": order.pk}
    upload(uploader, "loose.pdf", samples.pdf())
    listed = uploader.get(URL, {"attached_type": "orders.order", "attached_id": order.pk}).json()
    assert [f["name"] for f in listed["results"]] == ["po.pdf"]
    assert uploader.get(URL, {"attached_type": "orders.order"}).json()["count"] == 1
    assert uploader.get(URL).json()["count"] == 2


@pytest.mark.parametrize(
    "attach",
    [
        "not json",
        json.dumps([1]),
        json.dumps({"type": "orders.order"}),
        json.dumps({"type": "orders.order", "id": "1"}),
        json.dumps({"type": "orders.order", "id": True}),
        json.dumps({"type": "users.user", "id": 1}),  # not organization-scoped
        json.dumps({"type": "nope.nothing", "id": 1}),
        json.dumps({"type": "orders.order", "id": 999999}),
    ],
)
def test_bad_attach_to_is_400(uploader, settings, attach):
    response = upload(uploader, "po.pdf", samples.pdf(), attach_to=attach)
    assert response.status_code == 400
    assert "attach_to" in response.json()
    assert stored_objects(settings.MEDIA_ROOT) == []


def test_attach_to_other_organizations_order_is_400(uploader, foreign_order, settings):
    attach = json.dumps({"type": "orders.order", "id": foreign_order.pk})
    response = upload(uploader, "po.pdf", samples.pdf(), attach_to=attach)
    assert response.status_code == 400
    assert response.json()["attach_to"] == [
        f"No orders.order with id {foreign_order.pk} in this organization."
    ]
    assert stored_objects(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"attached_type": "users.user"}, "attached_type"),
        ({"attached_id": "3"}, "attached_type"),
        ({"attached_type": "orders.order", "attached_id": "x"}, "attached_id"),
        ({"ordering": "sha256"}, "ordering"),
    ],
)
def test_bad_list_filters_are_400(uploader, params, field):
    response = uploader.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_download_streams_with_safe_headers(uploader, settings):
    settings.FILES_X_ACCEL_REDIRECT_PREFIX = ""
    content = samples.pdf()
    file_id = upload(uploader, 'quarterly "Q1" report.pdf', content).json()["id"]
    response = uploader.get(f"{URL}{file_id}/download/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Disposition"] == (
        'attachment; filename="quarterly \\"Q1\\" report.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in response


def test_download_non_ascii_name(uploader):
    file_id = upload(uploader, "Übersicht €.csv", samples.csv_bytes()).json()["id"]
    response = uploader.get(f"{URL}{file_id}/download/")
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''%C3%9Cbersicht%20%E2%82%AC.csv"
    )
    response.close()


def test_download_through_nginx_x_accel(uploader, settings):
    settings.FILES_X_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    file_id = upload(uploader, "a.png", samples.png()).json()["id"]
    record = FileStorage.objects.get(pk=file_id)
    response = uploader.get(f"{URL}{file_id}/download/")
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{record.storage_key}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="a.png"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_retrieve_and_list(uploader):
    file_id = upload(uploader, "a.png", samples.png()).json()["id"]
    detail = uploader.get(f"{URL}{file_id}/")
    assert detail.status_code == 200
    assert detail.json()["id"] == file_id
    assert uploader.get(URL).json()["results"] == [detail.json()]


def test_list_query_count_is_constant(uploader, order, django_assert_num_queries):
    attach = json.dumps({"type": "orders.order", "id": order.pk})
    for i in range(3):
        upload(uploader, f"{i}.pdf", samples.pdf(), attach_to=attach)
    # The page with its bounded COUNT; token and membership come from their caches, warm
    # after the uploads.
    with django_assert_num_queries(1):
        assert uploader.get(URL).json()["count"] == 3
    for i in range(5):
        upload(uploader, f"{i}.png", samples.png(), attach_to=attach)
    with django_assert_num_queries(1):
        assert uploader.get(URL).json()["count"] == 8


def test_delete_removes_row_and_object(
    org, member_client, settings, django_capture_on_commit_callbacks
):
    admin, _ = member_client(org, "admin")
    file_id = upload(admin, "a.pdf", samples.pdf()).json()["id"]
    key = FileStorage.objects.get(pk=file_id).storage_key
    assert (settings.MEDIA_ROOT / key).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.delete(f"{URL}{file_id}/")
    assert response.status_code == 204
    assert not FileStorage.objects.filter(pk=file_id).exists()
    assert not (settings.MEDIA_ROOT / key).exists()
    assert admin.get(f"{URL}{file_id}/").status_code == 404


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"list", "retrieve", "download"}),
        ("member", {"list", "retrieve", "download", "upload"}),
        ("admin", {"list", "retrieve", "download", "upload", "delete"}),
        ("owner", {"list", "retrieve", "download", "upload", "delete"}),
    ],
)
def test_role_permissions(org, member_client, role, allowed):
    owner, _ = member_client(org, "owner")
    file_id = upload(owner, "a.pdf", samples.pdf()).json()["id"]
    client, _ = member_client(org, role)
    outcomes = {
        "list": client.get(URL).status_code,
        "retrieve": client.get(f"{URL}{file_id}/").status_code,
        "download": client.get(f"{URL}{file_id}/download/").status_code,
        "upload": upload(client, "b.pdf", samples.pdf()).status_code,
        "delete": client.delete(f"{URL}{file_id}/").status_code,
    }
    assert {name for name, code in outcomes.items() if code < 400} == allowed
    assert {code for name, code in outcomes.items() if name not in allowed} <= {403}


def test_other_organizations_files_are_invisible(org, other_org, member_client, settings):
    outsider, _ = member_client(other_org, "owner")
    foreign_id = upload(outsider, "secret.pdf", samples.pdf()).json()["id"]
    client, _ = member_client(org, "owner")
    assert client.get(URL).json()["count"] == 0
    assert client.get(f"{URL}{foreign_id}/").status_code == 404
    assert client.get(f"{URL}{foreign_id}/download/").status_code == 404
    assert client.delete(f"{URL}{foreign_id}/").status_code == 404
    assert FileStorage.objects.filter(pk=foreign_id).exists()
    # Naming the other organization in the header doesn't help a non-member.
    client.credentials(
        HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
        HTTP_X_ORGANIZATION=other_org.slug,
    )
    assert client.get(f"{URL}{foreign_id}/download/").status_code == 403


def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401
    assert upload(api_client, "a.pdf", samples.pdf()).status_code == 401


def test_missing_stored_object_is_404_not_500(uploader, settings, caplog):
    file_id = upload(uploader, "a.pdf", samples.pdf()).json()["id"]
    (settings.MEDIA_ROOT / FileStorage.objects.get(pk=file_id).storage_key).unlink()
    response = uploader.get(f"{URL}{file_id}/download/")
    assert response.status_code == 404
    assert "missing" in response.json()["detail"]
    assert any("no stored object" in r.message for r in caplog.records)


def test_storage_failure_on_upload_is_503_and_leaves_no_row(uploader, monkeypatch):
    """An I/O error (not a full disk, which is 507: test_full_disk.py) is a 503."""
    from django.core.files.storage import FileSystemStorage

    def io_error(self, name, content):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(FileSystemStorage, "_save", io_error)
    response = upload(uploader, "a.pdf", samples.pdf())
    assert response.status_code == 503
    assert response.json()["code"] == "storage_down"
    assert not FileStorage.objects.exists()


def test_failed_metadata_write_removes_the_stored_object(uploader, settings, monkeypatch):
    from django.db import IntegrityError

    def broken_save(self, *args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(FileStorage, "save", broken_save)
    response = upload(uploader, "a.pdf", samples.pdf())
    assert 400 <= response.status_code < 500
    assert stored_objects(settings.MEDIA_ROOT) == []
