"""Uploads onto a full disk, on small real filesystems (tmpfs mounts): the client gets 507 and
nothing the upload wrote stays behind, whichever disk fills and wherever the write fails."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from api.v1.files.models import FileStorage

from .conftest import stored_objects, upload

pytestmark = pytest.mark.django_db
MB = 2**20


def _mount_tmpfs(path, size_bytes: int):
    path.mkdir()
    result = subprocess.run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            f"size={size_bytes}",
            f"erp-test-{uuid.uuid4().hex[:8]}",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(
            "needs a small real filesystem: mounting a tmpfs failed "
            f"({result.stderr.strip() or 'mount returned ' + str(result.returncode)}); "
            "run the suite as root (as CI does) to test full disks"
        )


@pytest.fixture
def tiny_fs(tmp_path):
    """``tiny_fs(name, size)`` mounts a tmpfs of ``size`` bytes at tmp_path/name."""
    mounted = []

    def mount(name: str, size_bytes: int):
        path = tmp_path / name
        _mount_tmpfs(path, size_bytes)
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], check=False)


def text(size: int) -> bytes:
    line = b"quantity,price,name of the product\n"
    return (line * (size // len(line) + 1))[:size]


def everything_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_refused_and_clean(response, media, spool=None):
    assert response.status_code == 507, response.content
    body = response.json()
    assert "insufficient storage" in body["detail"] and body["code"] == "insufficient_storage"
    assert not FileStorage.objects.exists()
    assert stored_objects(media) == []
    assert everything_under(media) == []  # not even the directories made for it
    assert shutil.disk_usage(media).used == 0
    if spool is not None:
        assert everything_under(spool) == []


def test_spooled_upload_larger_than_the_media_disk(tiny_fs, settings, uploader):
    """The spool is on another filesystem, so storing is a copy that fills MEDIA_ROOT half way."""
    settings.MEDIA_ROOT = tiny_fs("full-media", 1 * MB)
    spool = tiny_fs("full-spool", 8 * MB)
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    response = upload(uploader, "stock.csv", text(3 * MB), "text/csv")
    assert_refused_and_clean(response, settings.MEDIA_ROOT, spool)


def test_in_memory_upload_larger_than_the_media_disk(tiny_fs, settings, uploader):
    settings.MEDIA_ROOT = tiny_fs("full-media", 1 * MB)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * MB
    response = upload(uploader, "stock.csv", text(2 * MB), "text/csv")
    assert_refused_and_clean(response, settings.MEDIA_ROOT)


def test_upload_larger_than_the_spool_disk(tiny_fs, settings, uploader):
    """The spool fills while the body streams in: refused there, the spool file removed."""
    settings.MEDIA_ROOT = tiny_fs("full-media", 8 * MB)
    spool = tiny_fs("full-spool", 1 * MB)
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    response = upload(uploader, "stock.csv", text(3 * MB), "text/csv")
    assert_refused_and_clean(response, settings.MEDIA_ROOT, spool)
    assert shutil.disk_usage(spool).used == 0


def test_after_a_refusal_a_file_that_fits_is_stored(tiny_fs, settings, uploader):
    settings.MEDIA_ROOT = tiny_fs("full-media", 1 * MB)
    assert upload(uploader, "big.csv", text(2 * MB), "text/csv").status_code == 507
    response = upload(uploader, "small.csv", text(100 * 1024), "text/csv")
    assert response.status_code == 201, response.content
    assert len(stored_objects(settings.MEDIA_ROOT)) == 1
