"""Build ``settings.STORAGES['default']`` from the environment (issue 6, docs/storage.md).

``STORAGE_BACKEND=local`` (the default) stores files under ``MEDIA_ROOT`` with Django's
``FileSystemStorage`` (``core.storage.backends.LocalStorage``: a failed save leaves nothing). ``STORAGE_BACKEND=s3`` switches to django-storages' ``S3Storage`` with no
code change: private objects, never overwritten, downloads through short-lived presigned URLs.
Application code only talks to the storage API, so both behave the same to it.
"""

from __future__ import annotations

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

LOCAL = "local"
S3 = "s3"
BACKENDS = (LOCAL, S3)


def default_storage_config(env: environ.Env) -> dict[str, Any]:
    """The ``default`` entry of ``STORAGES`` for ``STORAGE_BACKEND``.

    S3 variables (only read with ``STORAGE_BACKEND=s3``):
    - ``AWS_STORAGE_BUCKET_NAME`` (required).
    - ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``: leave empty to use
      boto3's own chain (instance profile, IRSA, ``~/.aws``).
    - ``AWS_S3_REGION_NAME``, ``AWS_S3_ENDPOINT_URL`` (MinIO, Ceph, R2, ...),
      ``AWS_S3_ADDRESSING_STYLE`` (``auto``/``path``/``virtual``; most S3-compatibles want path).
    - ``AWS_QUERYSTRING_EXPIRE`` (seconds, default 60): lifetime of a presigned download URL.
    - ``AWS_DEFAULT_ACL`` (default ``private``; empty = send no ACL, for buckets with ACLs
      disabled), ``AWS_LOCATION`` (key prefix inside the bucket, default none).
    - ``AWS_S3_CUSTOM_DOMAIN`` (a CDN in front of the bucket) with ``AWS_CLOUDFRONT_KEY_ID`` and
      ``AWS_CLOUDFRONT_KEY``: downloads go through the CDN, still signed and expiring.
    """
    backend = env.str("STORAGE_BACKEND", default=LOCAL).strip().lower()
    if backend == LOCAL:
        return {"BACKEND": "core.storage.backends.LocalStorage"}
    if backend != S3:
        raise ImproperlyConfigured(
            f"STORAGE_BACKEND={backend!r} is not supported: use one of {', '.join(BACKENDS)}."
        )
    bucket = env.str("AWS_STORAGE_BUCKET_NAME", default="")
    if not bucket:
        raise ImproperlyConfigured(
            "STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME (and credentials unless the host "
            "provides them): see docs/storage.md."
        )
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "default_acl": env.str("AWS_DEFAULT_ACL", default="private") or None,
        "file_overwrite": False,
        "querystring_auth": True,
        "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=60),
        "signature_version": "s3v4",
        # Reads (virus scan) spool to disk above this instead of holding the object in memory.
        "max_memory_size": 2621440,
        "location": env.str("AWS_LOCATION", default=""),
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
    }
    for option, variable in (
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
        ("security_token", "AWS_SESSION_TOKEN"),
        ("region_name", "AWS_S3_REGION_NAME"),
        ("endpoint_url", "AWS_S3_ENDPOINT_URL"),
    ):
        if value := env.str(variable, default=""):
            options[option] = value
    if custom_domain := env.str("AWS_S3_CUSTOM_DOMAIN", default=""):
        options.update(_cdn_options(env, custom_domain))
        return {"BACKEND": "core.storage.backends.S3Storage", "OPTIONS": options}
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def _cdn_options(env: environ.Env, custom_domain: str) -> dict[str, Any]:
    """A CDN (CloudFront) in front of the bucket: download URLs go to ``custom_domain`` and stay
    private, signed by CloudFront's key pair (``AWS_CLOUDFRONT_KEY_ID`` + the PEM private key
    ``AWS_CLOUDFRONT_KEY``; ``\\n`` escapes allowed) and valid ``AWS_QUERYSTRING_EXPIRE`` s.
    django-storages would otherwise build plain, unsigned URLs for a custom domain: refused."""
    key_id = env.str("AWS_CLOUDFRONT_KEY_ID", default="")
    key = env.str("AWS_CLOUDFRONT_KEY", default="").replace("\\n", "\n")
    if not (key_id and key):
        raise ImproperlyConfigured(
            "AWS_S3_CUSTOM_DOMAIN is set without AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY: "
            "download URLs through the CDN would be unsigned and public. Set both (the CDN's "
            "signing key pair) or unset AWS_S3_CUSTOM_DOMAIN: see docs/storage.md."
        )
    return {"custom_domain": custom_domain, "cloudfront_key_id": key_id, "cloudfront_key": key}
