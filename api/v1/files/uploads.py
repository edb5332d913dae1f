"""Streaming upload handling: size limit, hashing and spooling while the body arrives.

``LimitedUploadHandler`` replaces Django's default handlers on upload requests. It never holds
more than one chunk (1 MB) plus, for bodies up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, the file in
memory; bigger files are spooled to a ``TemporaryUploadedFile`` (which ``FileSystemStorage``
moves into place instead of copying). The SHA-256 and size are computed on the way.

The moment the file grows past ``MAX_UPLOAD_SIZE`` the handler deletes what it wrote and raises
``upload_too_large`` (413): the rest of the body is never read.

Spooled uploads are pipelined: the request thread parses the multipart body while a helper
thread hashes and writes the previous chunks (``hashlib`` and file writes release the GIL), so
on two cores reading, hashing and writing overlap instead of adding up. At most
``PIPELINE_DEPTH`` chunks wait between them (memory stays bounded), and a write error on the
helper thread surfaces on the next chunk or at the end, with everything written so far removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
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
# Chunks (of LimitedUploadHandler.chunk_size) in flight between the parser and the spool writer.
PIPELINE_DEPTH = 4
# A spool writer whose request vanished (the body read failed mid-way) exits after this long.
PIPELINE_IDLE_SECONDS = 60


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


class SpoolPipeline:
    """Hashes and writes chunks on a helper thread, in order, while the caller parses on."""

    def __init__(self, file, sha256):
        self.file = file
        self.sha256 = sha256
        self.error: BaseException | None = None
        self._chunks: queue.Queue = queue.Queue(maxsize=PIPELINE_DEPTH)
        self._thread = threading.Thread(target=self._run, name="upload-spool", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                chunk = self._chunks.get(timeout=PIPELINE_IDLE_SECONDS)
            except queue.Empty:
                return  # the request died without completing or discarding: stop waiting
            if chunk is None:
                return
            if self.error is None:
                try:
                    self.sha256.update(chunk)
                    self.file.write(chunk)
                except BaseException as exc:  # reported to the request thread
                    self.error = exc

    def put(self, chunk: bytes) -> None:
        """Queue ``chunk``; raises the helper's error from an earlier chunk, if any."""
        if self.error is not None:
            raise self.error
        self._chunks.put(chunk)

    def finish(self) -> None:
        """Wait until every queued chunk is hashed and written; raises the helper's error."""
        self.stop()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._chunks.put(None)
            self._thread.join()


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
        self.pipeline: SpoolPipeline | None = None

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
            self.pipeline = SpoolPipeline(self.file, self.sha256)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.discard()
            raise upload_too_large(self.limit)
        try:
            if self.pipeline is not None:
                self.pipeline.put(raw_data)
            else:
                self.sha256.update(raw_data)
                self.file.write(raw_data)
        except OSError as exc:  # the spool's disk is full (507) or failing (503)
            self._spool_failed(exc)
        return None

    def file_complete(self, file_size):
        try:
            if self.pipeline is not None:
                self.pipeline.finish()
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
        if self.pipeline is not None:
            self.pipeline.stop()  # the writer must be done with the file before it is closed
        if self.file is not None:
            spooled, self.file = self.file, None
            try:
                spooled.close()  # a TemporaryUploadedFile deletes itself on close...
            except OSError:  # ...even when flushing its buffer fails on a full disk
                path = getattr(spooled, "name", None)
                if isinstance(path, str) and os.path.exists(path):
                    os.unlink(path)
