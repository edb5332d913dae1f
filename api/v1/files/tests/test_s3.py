"""S3 for real: django-storages against moto's S3 server on a free loopback port.

The storage is switched purely through the settings ``core.storage.config`` builds from the
environment, as in production.
"""

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import boto3
import environ
import pytest
from django.core.files.storage import storages

from api.v1.files.models import FileStorage
from core.storage.config import default_storage_config
from core.testing.ports import free_port

from . import samples
from .conftest import URL, upload

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BUCKET = "erp-files-test"


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(moto_endpoint, settings, monkeypatch):
    variables = {
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_REGION_NAME": "eu-central-1",
        "AWS_S3_ENDPOINT_URL": moto_endpoint,
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_QUERYSTRING_EXPIRE": "30",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_config(environ.Env())}
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_config_is_private_no_overwrite_signed(s3):
    options = default_storage_config(environ.Env())["OPTIONS"]
    assert options["default_acl"] == "private"
    assert options["file_overwrite"] is False
    assert options["querystring_auth"] is True
    assert options["querystring_expire"] == 30
    assert type(storages["default"]).__name__ == "S3Storage"


def test_upload_download_delete_on_s3(
    s3, uploader, org, member_client, settings, django_capture_on_commit_callbacks
):
    content = samples.pdf()
    body = upload(uploader, "Report 2026.pdf", content).json()
    key = FileStorage.objects.get(pk=body["id"]).storage_key
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "application/pdf"  # the sniffed type, not the client's
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # owner only: private
    assert not list(settings.MEDIA_ROOT.rglob("*.pdf"))  # nothing went to local disk

    response = uploader.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 302
    assert response["X-Content-Type-Options"] == "nosniff"
    location = response["Location"]
    query = parse_qs(urlparse(location).query)
    assert query["X-Amz-Expires"] == ["30"]
    assert "X-Amz-Signature" in query
    assert query["response-content-disposition"] == ['attachment; filename="Report 2026.pdf"']
    with urllib.request.urlopen(location, timeout=10) as fetched:
        assert fetched.read() == content
        assert fetched.headers["Content-Disposition"] == 'attachment; filename="Report 2026.pdf"'

    admin, _ = member_client(org, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.delete(f"{URL}{body['id']}/").status_code == 204
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_rejected_upload_leaves_no_object(s3, uploader):
    response = upload(uploader, "a.pdf", samples.windows_exe())
    assert response.status_code == 415
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_health_and_metrics_reach_s3(s3, client, readiness_probe, settings):
    # The answer, not the deadline, is under test (a loaded CI machine can take over 1 s).
    settings.HEALTH_CHECK_TIMEOUT = 15
    component = readiness_probe().json()["components"]["storage"]
    assert component == {
        "status": "ok",
        "latency_ms": component["latency_ms"],
        "backend": "S3Storage",
    }
    assert b"erp_storage_up 1.0" in client.get("/metrics").content
    s3.delete_bucket(Bucket=BUCKET)
    try:
        component = readiness_probe().json()["components"]["storage"]
        assert component["status"] == "degraded"
        assert "NoSuchBucket" in component["error"]
        assert b"erp_storage_up 0.0" in client.get("/metrics").content
    finally:
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
        )


def test_spooled_upload_reaches_s3_intact(s3, uploader, settings, tmp_path):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # spool to a temp file, as big uploads do
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    content = b"id,name\n" + b"".join(b"%d,item %d\n" % (i, i) for i in range(30000))
    body = upload(uploader, "items.csv", content).json()
    key = FileStorage.objects.get(pk=body["id"]).storage_key
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == content
    assert body["content_type"] == "text/csv"
    assert list(spool.iterdir()) == []  # the spool file is gone


def test_cdn_custom_domain_keeps_download_urls_signed_and_expiring(
    s3, uploader, monkeypatch, settings
):
    """AWS_S3_CUSTOM_DOMAIN: downloads go to the CDN's domain, signed with its key pair
    (CloudFront canned policy, verified here with the public key) and expiring after
    AWS_QUERYSTRING_EXPIRE; the object in the bucket stays private."""
    import base64
    import json
    import time

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    monkeypatch.setenv("AWS_S3_CUSTOM_DOMAIN", "files.cdn.example.test")
    monkeypatch.setenv("AWS_CLOUDFRONT_KEY_ID", "K2TESTKEYPAIR")
    monkeypatch.setenv("AWS_CLOUDFRONT_KEY", pem.replace("\n", "\\n"))  # one line, as in env files
    settings.STORAGES = {**settings.STORAGES, "default": default_storage_config(environ.Env())}

    content = samples.pdf()
    body = upload(uploader, "cdn.pdf", content).json()
    key_name = FileStorage.objects.get(pk=body["id"]).storage_key
    assert s3.get_object(Bucket=BUCKET, Key=key_name)["Body"].read() == content  # stored in S3
    grants = s3.get_object_acl(Bucket=BUCKET, Key=key_name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # still private

    location = uploader.get(f"{URL}{body['id']}/download/")["Location"]
    url = urlparse(location)
    assert (url.scheme, url.netloc) == ("https", "files.cdn.example.test")
    assert url.path == f"/{key_name}"
    query = parse_qs(url.query)
    assert query["Key-Pair-Id"] == ["K2TESTKEYPAIR"]
    expires = int(query["Expires"][0])
    assert 0 < expires - time.time() <= 31  # AWS_QUERYSTRING_EXPIRE=30
    # The signature covers exactly this URL (without the signing parameters) and expiry.
    signed_url = location.split("&Expires=")[0]
    policy = json.dumps(
        {
            "Statement": [
                {"Resource": signed_url, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
            ]
        },
        separators=(",", ":"),
    ).encode()
    signature = base64.b64decode(
        query["Signature"][0].replace("-", "+").replace("_", "=").replace("~", "/")
    )
    key.public_key().verify(signature, policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    assert "response-content-disposition" in signed_url  # the download name is signed too


def test_custom_domain_without_a_signing_key_is_refused(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", BUCKET)
    monkeypatch.setenv("AWS_S3_CUSTOM_DOMAIN", "files.cdn.example.test")
    with pytest.raises(ImproperlyConfigured, match="unsigned and public"):
        default_storage_config(environ.Env())
