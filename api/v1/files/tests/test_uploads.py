"""The size limit is enforced while the body streams in: early, with nothing left behind."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import encode_multipart
from knox.models import AuthToken
from rest_framework.test import APIRequestFactory, force_authenticate

from api.v1.files import views
from api.v1.files.models import FileStorage

from . import samples
from .conftest import URL, stored_objects

pytestmark = pytest.mark.django_db
BOUNDARY = "----erp-test-boundary"


class CountingInput(io.BytesIO):
    """wsgi.input that remembers how many bytes the server read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


@pytest.fixture
def spool(settings, tmp_path):
    """Force uploads to spool to a temp dir we can inspect."""
    directory = tmp_path / "spool"
    directory.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(directory)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    return directory


def post_body(org, user, body: bytes, content_length: int | None = None):
    """POST ``body`` straight to the view with a wsgi.input that counts what the server read."""
    stream = CountingInput(body)
    extra = {"wsgi.input": stream}
    if content_length is not None:
        extra["CONTENT_LENGTH"] = str(content_length)
    request = APIRequestFactory().generic(
        "POST",
        URL,
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        HTTP_X_ORGANIZATION=org.slug,
        **extra,
    )
    force_authenticate(request, user=user, token=AuthToken.objects.create(user=user)[0])
    response = views.FileViewSet.as_view({"post": "create"})(request)
    response.render()
    return response, stream


def multipart(name: str, content: bytes) -> bytes:
    return encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(name, content)})


def test_declared_oversize_body_is_refused_before_reading(org, member_client, settings, spool):
    settings.MAX_UPLOAD_SIZE = 100_000
    _, user = member_client(org, "member")
    body = multipart("big.txt", b"x" * 2_000_000)
    response, stream = post_body(org, user, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "100000 bytes" in response.data["file"][0]
    assert stream.bytes_read == 0
    assert list(spool.iterdir()) == []


def test_oversize_file_is_aborted_mid_stream(org, member_client, settings, spool, monkeypatch):
    """A body whose Content-Length passes (or lies) is cut off as soon as the file overflows."""
    settings.MAX_UPLOAD_SIZE = 100_000
    monkeypatch.setattr(views, "MULTIPART_OVERHEAD", 10_000_000)
    _, user = member_client(org, "member")
    body = multipart("big.txt", b"x" * 20_000_000)
    response, stream = post_body(org, user, body)
    assert response.status_code == 413
    assert "file" in response.data
    assert stream.bytes_read <= 3 * 2**20  # stopped after a chunk or two (1 MB each), not 20 MB
    assert list(spool.iterdir()) == []  # the partial spool file is gone
    assert stored_objects(settings.MEDIA_ROOT) == []
    assert not FileStorage.objects.exists()


def test_content_length_understating_the_body_cannot_sneak_past(
    org, member_client, settings, spool
):
    settings.MAX_UPLOAD_SIZE = 100_000
    _, user = member_client(org, "member")
    body = multipart("big.txt", b"x" * 2_000_000)
    response, stream = post_body(org, user, body, content_length=150_000)  # a lie
    assert response.status_code in (400, 413)  # truncated multipart or over the limit
    assert stream.bytes_read <= 150_000
    assert list(spool.iterdir()) == []
    assert not FileStorage.objects.exists()


def test_file_at_the_limit_is_accepted_and_spooled_file_moved(org, member_client, settings, spool):
    content = samples.text() * 1000
    settings.MAX_UPLOAD_SIZE = len(content)
    client, _ = member_client(org, "member")
    response = client.post(
        URL, {"file": SimpleUploadedFile("notes.txt", content)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["size"] == len(content)
    assert list(spool.iterdir()) == []  # moved into MEDIA_ROOT, not copied and left behind
    content_plus_one = content + b"!"
    response = client.post(
        URL, {"file": SimpleUploadedFile("notes.txt", content_plus_one)}, format="multipart"
    )
    assert response.status_code == 413
    assert list(spool.iterdir()) == []


def test_rejected_type_leaves_no_spool_file(org, member_client, settings, spool):
    client, _ = member_client(org, "member")
    exe = samples.windows_exe() + b"\x00" * 5000
    response = client.post(URL, {"file": SimpleUploadedFile("a.pdf", exe)}, format="multipart")
    assert response.status_code == 415
    assert list(spool.iterdir()) == []
    assert stored_objects(settings.MEDIA_ROOT) == []


def spool_threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "upload-spool" and t.is_alive()]


def test_pipelined_spool_hashes_and_writes_every_chunk_in_order(
    org, member_client, settings, spool
):
    """A multi-chunk spooled upload (hashed and written on the helper thread) is stored byte for
    byte with the right SHA-256, and the helper thread is gone afterwards."""
    import hashlib

    from api.v1.files.uploads import LimitedUploadHandler

    chunk = LimitedUploadHandler.chunk_size
    # 5.5 chunks of text whose chunks differ, so a reordered or dropped chunk changes the hash.
    lines = b"".join(b"row %08d,quantity,price\n" % i for i in range(chunk * 11 // 2 // 27))
    settings.MAX_UPLOAD_SIZE = len(lines) + 1
    client, _ = member_client(org, "member")
    response = client.post(URL, {"file": SimpleUploadedFile("rows.csv", lines)}, format="multipart")
    assert response.status_code == 201, response.content
    record = FileStorage.objects.get(pk=response.json()["id"])
    assert record.sha256 == hashlib.sha256(lines).hexdigest()
    with record.file.open("rb") as stored:
        assert stored.read() == lines
    assert list(spool.iterdir()) == []
    assert spool_threads() == []


def test_spool_write_error_on_the_helper_thread_is_a_clean_refusal(
    org, member_client, settings, spool, monkeypatch
):
    """A write that fails on the helper thread (here: EIO on the third chunk) answers like a
    failing disk, removes the spool file and leaves no thread behind."""
    import errno

    from django.core.files.uploadedfile import TemporaryUploadedFile

    from api.v1.files.uploads import LimitedUploadHandler

    writes = {"n": 0}

    def failing_write(self, data):
        writes["n"] += 1
        if writes["n"] == 3:
            raise OSError(errno.EIO, "Input/output error")
        return self.file.write(data)

    monkeypatch.setattr(TemporaryUploadedFile, "write", failing_write, raising=False)
    content = samples.text() * (LimitedUploadHandler.chunk_size * 5 // len(samples.text()))
    settings.MAX_UPLOAD_SIZE = len(content) + 1
    client, _ = member_client(org, "member")
    response = client.post(
        URL, {"file": SimpleUploadedFile("notes.txt", content)}, format="multipart"
    )
    assert response.status_code == 503, response.content
    assert writes["n"] == 3  # nothing written after the failure
    assert list(spool.iterdir()) == []
    assert stored_objects(settings.MEDIA_ROOT) == []
    assert FileStorage.objects.count() == 0
    assert spool_threads() == []
