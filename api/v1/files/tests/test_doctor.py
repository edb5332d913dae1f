"""``manage.py doctor`` storage section on real storage: a missing MEDIA_ROOT, a public bucket
on the moto S3 server, a long presigned URL lifetime, an unreachable scanner."""

import json
import shutil

import environ
import pytest

from core.doctor import FAIL, OK, Context, run_doctor
from core.storage.config import default_storage_config
from core.testing.ports import free_port

from .test_s3 import BUCKET, moto_endpoint, s3  # noqa: F401  (fixtures)

PROD = Context(production=True, ping=False)


def storage_findings():
    return {f.id: f for f in run_doctor(only=["storage"], ctx=PROD)}


@pytest.mark.django_db
def test_local_media_root_and_limits(settings):
    findings = storage_findings()
    assert findings["storage.media_root"].status == OK
    assert findings["storage.upload_limits"].status == OK
    assert findings["storage.scanner"].status == OK  # scanning off

    shutil.rmtree(settings.MEDIA_ROOT)
    settings.MAX_UPLOAD_SIZE = 0
    findings = storage_findings()
    assert findings["storage.media_root"].status == FAIL
    assert "does not exist" in findings["storage.media_root"].message
    assert findings["storage.media_root"].hint.endswith("docs/storage.md#settings")
    assert findings["storage.upload_limits"].status == FAIL


@pytest.mark.django_db
def test_scanner_on_but_unreachable(settings):
    settings.FILES_SCANNER = "clamd"
    settings.CLAMD_ADDRESS = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    settings.CLAMD_TIMEOUT = 0.5
    finding = storage_findings()["storage.scanner"]
    assert finding.status == FAIL
    assert "does not answer" in finding.message


@pytest.mark.integration
@pytest.mark.django_db
def test_public_bucket_and_long_presigned_urls(s3, settings, monkeypatch):  # noqa: F811
    findings = storage_findings()
    assert findings["storage.bucket"].status == OK
    assert findings["storage.bucket_private"].status == OK
    assert findings["storage.presigned_expiry"].status == OK  # 30 s in the fixture

    s3.put_bucket_acl(Bucket=BUCKET, ACL="public-read")
    finding = storage_findings()["storage.bucket_private"]
    assert finding.status == FAIL
    assert "ACL grants READ to AllUsers" in finding.message

    s3.put_bucket_acl(Bucket=BUCKET, ACL="private")
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{BUCKET}/*",
                    }
                ],
            }
        ),
    )
    finding = storage_findings()["storage.bucket_private"]
    assert finding.status == FAIL
    assert "policy allows s3:GetObject to *" in finding.message
    s3.delete_bucket_policy(Bucket=BUCKET)

    monkeypatch.setenv("AWS_QUERYSTRING_EXPIRE", "3600")
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_config(environ.Env())}
    finding = storage_findings()["storage.presigned_expiry"]
    assert finding.status == FAIL
    assert "3600s (at most 300s)" in finding.message

    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "no-such-bucket")
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_config(environ.Env())}
    assert storage_findings()["storage.bucket"].status == FAIL
