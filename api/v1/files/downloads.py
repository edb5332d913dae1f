"""The response that hands a file out, after the view checked tenancy and permission.

Three ways, chosen from the storage and settings (no code change between deployments):

- remote storage (S3; its ``path()`` is not implemented): 302 to a presigned URL that expires
  after ``AWS_QUERYSTRING_EXPIRE`` seconds and makes S3 answer with our headers;
- local storage + ``FILES_X_ACCEL_REDIRECT_PREFIX``: an empty response with ``X-Accel-Redirect``
  to nginx's ``internal`` location (deploy/nginx-files.conf), nginx sends the bytes;
- local storage alone: Django streams the file (``FileResponse``; gunicorn uses sendfile).

Every response is an attachment with a safe file name and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from core.api.exceptions import DomainError

from .models import FileStorage
from .services import storage_unavailable

__all__ = ["download_response"]

logger = logging.getLogger(__name__)


def download_response(record: FileStorage):
    storage = record.file.storage
    key = record.storage_key
    disposition = content_disposition_header(True, record.original_name)
    try:
        storage.path(key)
        local = True
    except NotImplementedError:
        local = False
    if not local:
        response = HttpResponseRedirect(_presigned_url(storage, key, record, disposition))
    elif prefix := settings.FILES_X_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=record.content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(key)
    else:
        response = FileResponse(_open(storage, record), content_type=record.content_type)
        response["Content-Length"] = str(record.size)
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _open(storage, record: FileStorage):
    try:
        return storage.open(record.storage_key, "rb")
    except FileNotFoundError as exc:
        logger.error(
            "file %s of organization %s has metadata but no stored object %s",
            record.pk,
            record.organization_id,
            record.storage_key,
        )
        raise DomainError(
            {"detail": "The stored file is missing; it has been reported to the operators."},
            status_code=404,
        ) from exc
    except OSError as exc:
        logger.exception("could not open stored object %s", record.storage_key)
        raise storage_unavailable() from exc


def _presigned_url(storage, key: str, record: FileStorage, disposition: str) -> str:
    # S3 (and other django-storages backends) accept response overrides, so the signed download
    # itself is an attachment of the sniffed type; a storage without them still gets a plain URL.
    overrides = {
        "ResponseContentDisposition": disposition,
        "ResponseContentType": record.content_type,
    }
    try:
        return storage.url(key, parameters=overrides)
    except TypeError:
        return storage.url(key)
