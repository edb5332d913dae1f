"""Streaming upload handling: size limit, hashing and spooling while the body arrives.

``LimitedUploadHandler`` replaces Django's default handlers on upload requests. It never holds
more than one chunk (1 MB) plus, for bodies up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, the file in
memory; bigger files are spooled to a ``TemporaryUploadedFile`` (which ``FileSystemStorage``
moves into place instead of copying). The SHA-256 and size are computed on the way.

The moment the file grows past ``MAX_UPLOAD_SIZE`` the handler deletes what it wrote and raises
``upload_too_large`` (413): the rest of the body is never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from core.api.exceptions import DomainError

from .services import storage_error
from .validation import sanitize_file_name

logger = logging.getLogger(__name__)

__all__ = ["LimitedUploadHandler", "MULTIPART_OVERHEAD", "upload_too_large"]

FILE_FIELD = "file"
# Allowance for boundaries, part headers and the small `attach_to` field in a multipart body.
MULTIPART_OVERHEAD = 64 * 1024


def upload_too_large(limit: int) -> DomainError:
    human = f" ({limit / 2**20:.4g} MB)" if limit >= 2**20 else ""
    return DomainError(
        {"file": [f"The file is larger than the limit of {limit} bytes{human}."]},
        status_code=413,
    )


def too_many_files() -> DomainError:
    return DomainError(
        {"file": ["Send exactly one file per request, in the 'file' field."]}, status_code=400
    )


class LimitedUploadHandler(FileUploadHandler):
    """Accept one file in the ``file`` field, at most ``MAX_UPLOAD_SIZE`` bytes."""

    # Django reads the body in chunks of this size. With Django's 64 KB, gunicorn's body reader
    # re-copies its read-ahead buffer on every read: py-spy put ~70% of a 200 MB upload's time
    # there; with 1 MB it is ~8% and the spool write + SHA-256 dominate. One chunk in memory.
    chunk_size = 1024 * 1024

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.MAX_UPLOAD_SIZE
        self.files_seen = 0
        self.in_memory = False
        self.file = None
        self.sha256 = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.in_memory = content_length <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, sanitize_file_name(file_name), *args, **kwargs)
        self.files_seen += 1
        if field_name != FILE_FIELD or self.files_seen > 1:
            self.discard()
            raise too_many_files()
        self.sha256 = hashlib.sha256()
        if self.in_memory:
            self.file = BytesIO()
        else:
            self.file = TemporaryUploadedFile(
                self.file_name, self.content_type, 0, self.charset, self.content_type_extra
            )

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.discard()
            raise upload_too_large(self.limit)
        self.sha256.update(raw_data)
        try:
            self.file.write(raw_data)
        except OSError as exc:  # the spool's disk is full (507) or failing (503)
            self._spool_failed(exc)
        return None

    def file_complete(self, file_size):
        try:
            self.file.seek(0)  # flushes the spool's last buffered bytes: may hit a full disk too
        except OSError as exc:
            self._spool_failed(exc)
        if self.in_memory:
            uploaded = InMemoryUploadedFile(
                self.file,
                self.field_name,
                self.file_name,
                self.content_type,
                file_size,
                self.charset,
                self.content_type_extra,
            )
        else:
            uploaded = self.file
            uploaded.size = file_size
        uploaded.sha256 = self.sha256.hexdigest()
        return uploaded

    def _spool_failed(self, exc: OSError):
        logger.error("spooling an upload to %s failed: %s", settings.FILE_UPLOAD_TEMP_DIR, exc)
        self.discard()
        raise storage_error(exc) from exc

    def upload_interrupted(self):
        self.discard()

    def discard(self) -> None:
        """Close (and so delete) whatever was spooled so far."""
        if self.file is not None:
            spooled, self.file = self.file, None
            try:
                spooled.close()  # a TemporaryUploadedFile deletes itself on close...
            except OSError:  # ...even when flushing its buffer fails on a full disk
                path = getattr(spooled, "name", None)
                if isinstance(path, str) and os.path.exists(path):
                    os.unlink(path)
