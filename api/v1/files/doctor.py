"""``manage.py doctor`` storage section (registered by FilesConfig.ready()): MEDIA_ROOT or the
S3 bucket, bucket privacy, presigned URL lifetime, upload limits, the scanner."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.storage import default_storage, storages

from core.doctor import FAIL, OK, WARN, Context, Finding

from .health import multi_host_warning, storage_status
from .scanning import get_scanner

DOC_SETTINGS = "docs/storage.md#settings"
DOC_S3 = "docs/storage.md#s3-storage_backends3"
DOC_SCANNING = "docs/storage.md#virus-scanning"
PRESIGN_MAX_SECONDS = 300
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)


def _is_s3() -> bool:
    return type(storages["default"]).__name__ == "S3Storage"


def storage_checks(ctx: Context):
    s3 = _is_s3()
    try:
        details = storage_status()  # the readiness check's own reasoning
    except Exception as exc:  # noqa: BLE001 - the failure is the finding
        yield Finding(
            "storage.bucket" if s3 else "storage.media_root",
            FAIL,
            f"{type(exc).__name__}: {exc}"[:300],
            f"Fix the storage settings (bucket, credentials, endpoint): {DOC_S3}"
            if s3
            else f"Create MEDIA_ROOT, writable by the app user, with free space: {DOC_SETTINGS}",
        )
    else:
        if s3:
            yield Finding(
                "storage.bucket", OK, f"bucket {default_storage.bucket_name} is reachable"
            )
        else:
            yield Finding(
                "storage.media_root",
                OK,
                f"MEDIA_ROOT {settings.MEDIA_ROOT} is writable, "
                f"{details['disk_free_percent']}% free",
            )
    if s3:
        yield _bucket_private()
        expire = int(default_storage.querystring_expire)
        yield Finding(
            "storage.presigned_expiry",
            OK if expire <= PRESIGN_MAX_SECONDS else FAIL,
            f"presigned download URLs live {expire}s (at most {PRESIGN_MAX_SECONDS}s)",
            ""
            if expire <= PRESIGN_MAX_SECONDS
            else f"Set AWS_QUERYSTRING_EXPIRE to 300 or less: {DOC_S3}",
        )
    else:
        yield Finding("storage.presigned_expiry", OK, "local storage: downloads go through the API")
        warning = multi_host_warning()
        yield Finding(
            "storage.multi_host",
            WARN if warning else OK,
            warning or "local storage, one web host reports a heartbeat",
            "Switch to STORAGE_BACKEND=s3 or mount one shared volume at MEDIA_ROOT on every web "
            "host, then restart them"
            if warning
            else "",
        )
    yield _upload_limits()
    yield _scanner(ctx)


def _bucket_private() -> Finding:
    storage = default_storage
    client = storage.connection.meta.client
    bucket = storage.bucket_name
    public = []
    try:
        grants = client.get_bucket_acl(Bucket=bucket)["Grants"]
    except Exception as exc:  # noqa: BLE001
        return Finding(
            "storage.bucket_private",
            WARN,
            f"cannot read the bucket ACL: {type(exc).__name__}: {exc}"[:300],
            f"Allow s3:GetBucketAcl/GetBucketPolicy to check it, or check by hand: {DOC_S3}",
        )
    for grant in grants:
        uri = grant.get("Grantee", {}).get("URI", "")
        if uri in PUBLIC_GROUPS:
            public.append(f"ACL grants {grant.get('Permission')} to {uri.rsplit('/', 1)[-1]}")
    try:
        policy = json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
            return Finding(
                "storage.bucket_private",
                WARN,
                f"cannot read the bucket policy: {exc}"[:300],
                f"Allow s3:GetBucketPolicy to check it, or check by hand: {DOC_S3}",
            )
        policy = {}
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        anyone = principal == "*" or (
            isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))
        )
        if statement.get("Effect") == "Allow" and anyone and not statement.get("Condition"):
            public.append(f"policy allows {', '.join(_as_list(statement.get('Action')))} to *")
    if public:
        return Finding(
            "storage.bucket_private",
            FAIL,
            f"bucket {bucket} is public: {'; '.join(public)}"[:300],
            f"Remove the public grant/policy and turn Block Public Access on: {DOC_S3}",
        )
    return Finding("storage.bucket_private", OK, f"bucket {bucket}: no public ACL or policy")


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _upload_limits() -> Finding:
    size, types = settings.MAX_UPLOAD_SIZE, settings.ALLOWED_MIME_TYPES
    if not size or size <= 0 or not types:
        return Finding(
            "storage.upload_limits",
            FAIL,
            f"MAX_UPLOAD_SIZE={size}, {len(types)} allowed type(s)",
            f"Set MAX_UPLOAD_SIZE and ALLOWED_MIME_TYPES: {DOC_SETTINGS}",
        )
    return Finding(
        "storage.upload_limits",
        OK,
        f"uploads up to {size:,} bytes, {len(types)} allowed type(s)",
    )


def _scanner(ctx: Context) -> Finding:
    try:
        scanner = get_scanner()
        if scanner is None:
            return Finding("storage.scanner", OK, "virus scanning is off (FILES_SCANNER empty)")
        scanner.ping()
    except Exception as exc:  # noqa: BLE001
        return Finding(
            "storage.scanner",
            FAIL,
            f"FILES_SCANNER={settings.FILES_SCANNER} does not answer: {exc}"[:300],
            f"Start clamd or fix CLAMD_ADDRESS (uploads stay pending meanwhile): {DOC_SCANNING}",
        )
    return Finding("storage.scanner", OK, f"scanner {scanner.name} answers")
