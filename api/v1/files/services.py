"""Every write to files: upload, delete, scan results, quarantine.

Storage and database are kept consistent: an object is written only after the upload passed
every check and is removed again if its metadata row can't be written; a deleted row's object is
removed once the deletion committed. Whatever still slips through (a crash between the two) is
found by the orphan cleanup (``cleanup.py``).
"""

from __future__ import annotations

import errno
import hashlib
import logging
from functools import partial

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from core.api.exceptions import DomainError
from core.events import raise_event

from .models import FileStorage, ScanStatus
from .scanning import ScanResult, get_scanner, scanning_enabled
from .validation import detect_content_type, extension_mismatch, sanitize_file_name

__all__ = [
    "check_downloadable",
    "storage_error",
    "delete_file",
    "mark_scan_failed",
    "scan_stored_file",
    "upload_file",
]

logger = logging.getLogger(__name__)
QUARANTINE_PREFIX = "quarantine/"


def _sha256(file) -> str:
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def storage_unavailable() -> DomainError:
    return DomainError(
        {"detail": "The file storage is unavailable; try again later.", "code": "storage_down"},
        status_code=503,
    )


# A full disk or an exhausted quota: the operator must free space, retrying won't help soon.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def insufficient_storage() -> DomainError:
    return DomainError(
        {
            "detail": "The server has insufficient storage for this file; nothing was kept. "
            "Try again once an operator has freed space.",
            "code": "insufficient_storage",
        },
        status_code=507,
    )


def storage_error(exc: BaseException) -> DomainError:
    """The client's answer for a storage failure: 507 for no space, else 503."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return insufficient_storage()
    return storage_unavailable()


def _unsupported(detected: str, why: str) -> DomainError:
    return DomainError(
        {"file": [why], "detected_content_type": detected},
        status_code=415,
    )


def check_content_type(file, name: str) -> str:
    """The sniffed type of ``file``; 415 naming it if it isn't allowed or contradicts the name."""
    allowed = set(settings.ALLOWED_MIME_TYPES)
    detected = detect_content_type(file)
    if detected not in allowed:
        raise _unsupported(
            detected,
            f"The content is {detected}, which is not accepted. "
            f"Accepted types: {', '.join(sorted(allowed))}.",
        )
    if claimed := extension_mismatch(name, detected):
        raise _unsupported(
            detected,
            f"The content is {detected} but the file name claims {claimed}: "
            "rename the file or upload the right one.",
        )
    return detected


def upload_file(*, organization_id: int, user_id: int | None, file, attach_to=None) -> FileStorage:
    """Validate and store ``file`` (a Django ``UploadedFile``); return its metadata row.

    ``attach_to`` is ``(content_type, object_id)`` already checked against the organization.
    With scanning on, the row starts ``pending`` and a scan is queued once the row committed.
    """
    name = sanitize_file_name(file.name)
    content_type = check_content_type(file, name)
    # The stored object carries the sniffed type, never the client's header.
    file.content_type = content_type
    scan = scanning_enabled()
    record = FileStorage(
        organization_id=organization_id,
        uploaded_by_id=user_id,
        original_name=name,
        size=file.size,
        content_type=content_type,
        sha256=getattr(file, "sha256", None) or _sha256(file),
        scan_status=ScanStatus.PENDING if scan else ScanStatus.NOT_SCANNED,
    )
    if attach_to is not None:
        record.attached_type, record.attached_id = attach_to
    try:
        record.file.save("upload", file, save=False)
    except Exception as exc:
        # The storage removed whatever it wrote (core.storage.backends.LocalStorage; S3 keeps
        # nothing of a failed upload).
        logger.exception("file storage refused an upload of organization %s", organization_id)
        raise storage_error(exc) from exc
    try:
        with transaction.atomic():
            record.save()
            # With scanning on, the scan task subscribes (outbox row in this transaction).
            raise_event(
                "file.stored",
                organization_id=organization_id,
                file_id=record.pk,
                scan_status=record.scan_status,
                attached_to=type_label_of(record),
            )
    except BaseException:
        record.file.storage.delete(record.file.name)
        raise
    # The upload is consumed: release its spool file now (FileSystemStorage usually moved it).
    file.close()
    logger.info(
        "file %s stored as %s (%s, %d bytes) for organization %s",
        record.pk,
        record.storage_key,
        content_type,
        record.size,
        organization_id,
    )
    return record


def type_label_of(record: FileStorage) -> dict | None:
    if record.attached_type_id is None:
        return None
    content_type = record.attached_type
    return {"type": f"{content_type.app_label}.{content_type.model}", "id": record.attached_id}


def delete_file(record: FileStorage) -> None:
    """Delete the metadata row, then (once committed) the stored object."""
    key = record.storage_key
    with transaction.atomic():
        record.delete()
        transaction.on_commit(partial(_delete_object, key))


def _delete_object(key: str) -> None:
    try:
        default_storage.delete(key)
    except Exception:  # noqa: BLE001 - the row is gone; the orphan cleanup retries the object
        logger.exception("could not delete stored object %s; orphan cleanup will retry", key)


def check_downloadable(record: FileStorage) -> None:
    """409 unless the file may be served: clean while scanning is on; never when infected."""
    status = record.scan_status
    if status == ScanStatus.INFECTED:
        raise DomainError(
            {"detail": "This file is infected and quarantined.", "scan_status": status}, 409
        )
    if scanning_enabled() and status != ScanStatus.CLEAN:
        raise DomainError(
            {
                "detail": "This file can be downloaded once the virus scan marked it clean.",
                "scan_status": status,
            },
            409,
        )


def scan_stored_file(file_id: int) -> str | None:
    """Scan one stored file with the configured scanner and record the verdict.

    Returns the new status (None when there was nothing to do). ``ScannerError`` propagates so
    the task can retry.
    """
    scanner = get_scanner()
    record = FileStorage.objects.filter(pk=file_id).first()
    if scanner is None or record is None or record.scan_status == ScanStatus.INFECTED:
        return None
    with record.file.open("rb") as stream:
        result = scanner.scan(stream)
    if result.clean:
        FileStorage.objects.filter(pk=file_id).update(scan_status=ScanStatus.CLEAN)
        return ScanStatus.CLEAN
    quarantine_file(record, result)
    return ScanStatus.INFECTED


def quarantine_file(record: FileStorage, result: ScanResult) -> None:
    """Move the object under ``quarantine/`` (never served again), mark it and report it."""
    storage = record.file.storage
    old_key = record.storage_key
    if not old_key.startswith(QUARANTINE_PREFIX):
        with storage.open(old_key, "rb") as stream:
            new_key = storage.save(QUARANTINE_PREFIX + old_key, stream)
        record.file.name = new_key
    record.scan_status = ScanStatus.INFECTED
    record.save(update_fields=["file", "scan_status", "updated_at"])
    if old_key != record.storage_key:
        storage.delete(old_key)
    logger.error(
        "VIRUS FOUND: file %s (%r) of organization %s uploaded by user %s: %s; quarantined as %s",
        record.pk,
        record.original_name,
        record.organization_id,
        record.uploaded_by_id,
        result.signature or "unnamed signature",
        record.storage_key,
    )


def mark_scan_failed(file_id: int, error: str) -> None:
    FileStorage.objects.filter(pk=file_id, scan_status=ScanStatus.PENDING).update(
        scan_status=ScanStatus.FAILED
    )
    logger.error("virus scan of file %s gave up: %s", file_id, error)
