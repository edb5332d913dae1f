"""Readiness, metrics, orphan cleanup and the storage settings."""

import os
import time

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from api.v1.files import tasks
from api.v1.files.models import FileStorage
from core.storage.config import default_storage_config

from . import samples
from .conftest import upload

pytestmark = pytest.mark.django_db


def test_readiness_reports_local_disk(readiness_probe, uploader, settings):
    upload(uploader, "a.pdf", samples.pdf())  # creates MEDIA_ROOT
    response = readiness_probe()
    assert response.status_code == 200
    component = response.json()["components"]["storage"]
    assert component["status"] == "ok"
    assert component["backend"] == "LocalStorage"
    assert component["disk_total_bytes"] >= component["disk_free_bytes"] > 0
    assert 0 < component["disk_free_percent"] <= 100
    assert response.json()["components"]["virus_scanner"]["enabled"] is False


def test_readiness_degraded_not_503_when_media_root_missing_or_full(
    readiness_probe, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "nowhere"
    response = readiness_probe()
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["storage"]["status"] == "degraded"
    assert "does not exist" in body["components"]["storage"]["error"]

    settings.MEDIA_ROOT = tmp_path
    settings.FILES_DISK_FREE_MIN_PERCENT = 100.1
    component = readiness_probe().json()["components"]["storage"]
    assert component["status"] == "degraded"
    assert "disk free" in component["error"]


def test_readiness_degraded_when_scanner_down(readiness_probe, settings):
    settings.FILES_SCANNER = "clamd"
    settings.CLAMD_ADDRESS = "unix:///nonexistent/clamd.sock"
    response = readiness_probe()
    assert response.status_code == 200
    component = response.json()["components"]["virus_scanner"]
    assert component["status"] == "degraded"
    assert "unreachable" in component["error"]


def test_metrics_count_files_and_disk(client, uploader):
    upload(uploader, "a.pdf", samples.pdf())
    upload(uploader, "b.png", samples.png())
    text = client.get("/metrics").content.decode()
    assert 'erp_files{scan_status="not_scanned"} 2.0' in text
    assert 'erp_files{scan_status="infected"} 0.0' in text
    size = len(samples.pdf()) + len(samples.png())
    assert f'erp_files_bytes{{scan_status="not_scanned"}} {float(size)}' in text
    assert "erp_storage_up 1.0" in text
    assert "erp_media_disk_free_bytes " in text


def _age(path, seconds):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_cleanup_dry_run_then_apply(uploader, settings):
    settings.FILES_ORPHAN_GRACE_SECONDS = 3600
    kept = FileStorage.objects.get(pk=upload(uploader, "a.pdf", samples.pdf()).json()["id"])
    lost = FileStorage.objects.get(pk=upload(uploader, "b.pdf", samples.pdf()).json()["id"])
    FileStorage.objects.filter(pk__in=[kept.pk, lost.pk]).update(created_at="2000-01-01T00:00:00Z")
    (settings.MEDIA_ROOT / lost.storage_key).unlink()  # row without object
    stray_old = settings.MEDIA_ROOT / "files" / str(kept.organization_id) / "2020" / "01" / "dead"
    stray_old.parent.mkdir(parents=True)
    stray_old.write_bytes(b"orphan")
    _age(stray_old, 7200)
    stray_new = stray_old.with_name("in-flight")  # an upload whose row isn't committed yet
    stray_new.write_bytes(b"new")

    from io import StringIO

    out = StringIO()
    call_command("cleanup_orphan_files", stdout=out)
    text = out.getvalue()
    assert (
        f"Would delete object without metadata: files/{kept.organization_id}/2020/01/dead" in text
    )
    assert f"Would delete metadata row without object: file id {lost.pk}" in text
    assert "in-flight" not in text
    assert "--apply" in text
    assert stray_old.exists() and FileStorage.objects.filter(pk=lost.pk).exists()

    out = StringIO()
    call_command("cleanup_orphan_files", "--apply", stdout=out)
    assert "Deleted object without metadata" in out.getvalue()
    assert not stray_old.exists()
    assert stray_new.exists()
    assert not FileStorage.objects.filter(pk=lost.pk).exists()
    assert (settings.MEDIA_ROOT / kept.storage_key).exists()

    # Nothing left: the scheduled task finds a clean state.
    report = tasks.cleanup_orphan_files.apply().get()
    assert report["orphan_objects"] == [] and report["orphan_rows"] == []
    assert report["objects_checked"] == 2


def test_cleanup_reports_storage_failure_as_command_error(settings, monkeypatch):
    from api.v1.files import cleanup

    def broken(**kwargs):
        raise PermissionError("denied")

    monkeypatch.setattr(
        "api.v1.files.management.commands.cleanup_orphan_files.cleanup_orphans", broken
    )
    with pytest.raises(CommandError, match="Could not walk the file storage"):
        call_command("cleanup_orphan_files")
    assert cleanup.cleanup_orphans  # the real function is untouched


def test_storage_config_defaults_to_local(monkeypatch):
    monkeypatch.delenv("STORAGE_BACKEND", raising=False)
    config = default_storage_config(environ.Env())
    assert config == {"BACKEND": "core.storage.backends.LocalStorage"}


def test_storage_config_refuses_bad_values(monkeypatch):
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(ImproperlyConfigured, match="local, s3"):
        default_storage_config(environ.Env())
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.delenv("AWS_STORAGE_BUCKET_NAME", raising=False)
    with pytest.raises(ImproperlyConfigured, match="AWS_STORAGE_BUCKET_NAME"):
        default_storage_config(environ.Env())


def test_storage_config_s3_without_keys_uses_boto_chain(monkeypatch):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "b")
    monkeypatch.setenv("AWS_DEFAULT_ACL", "")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    options = default_storage_config(environ.Env())["OPTIONS"]
    assert "access_key" not in options and "endpoint_url" not in options
    assert options["default_acl"] is None
    assert options["querystring_expire"] == 60
