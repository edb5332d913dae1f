"""Orphans: stored objects without a metadata row, and rows whose object is gone.

Both can only arise from crashes between the storage write and the database write (or the
reverse on delete). Anything younger than ``FILES_ORPHAN_GRACE_SECONDS`` is left alone: an
upload in flight has its object before its row.

The storage is walked directory by directory (``files/<org>/<yyyy>/<mm>/``, ``quarantine/...``)
through the storage API, so it works the same on local disk and S3, and memory stays bounded by
one directory's listing.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from .models import FileStorage
from .services import QUARANTINE_PREFIX

__all__ = ["CleanupReport", "cleanup_orphans"]

logger = logging.getLogger(__name__)
ROOTS = ("files", QUARANTINE_PREFIX.rstrip("/"))


@dataclass
class CleanupReport:
    applied: bool
    directories: int = 0
    objects_checked: int = 0
    orphan_objects: list[str] = field(default_factory=list)
    orphan_rows: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _walk(storage, directory: str) -> Iterator[tuple[str, list[str]]]:
    try:
        subdirs, names = storage.listdir(directory)
    except FileNotFoundError:
        return
    yield directory, names
    for sub in sorted(subdirs):
        yield from _walk(storage, posixpath.join(directory, sub))


def _is_old(storage, key: str, cutoff) -> bool:
    try:
        return storage.get_modified_time(key) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False


def cleanup_orphans(
    *, apply: bool, progress: Callable[[CleanupReport], None] | None = None
) -> CleanupReport:
    """Find (and with ``apply`` delete) orphans; return what was found."""
    storage = default_storage
    cutoff = timezone.now() - timedelta(seconds=settings.FILES_ORPHAN_GRACE_SECONDS)
    report = CleanupReport(applied=apply)

    # 1. Objects without rows.
    for root in ROOTS:
        for directory, names in _walk(storage, root):
            report.directories += 1
            keys = {posixpath.join(directory, name) for name in names}
            report.objects_checked += len(keys)
            known = set(FileStorage.objects.filter(file__in=keys).values_list("file", flat=True))
            for key in sorted(keys - known):
                if _is_old(storage, key, cutoff):
                    report.orphan_objects.append(key)
                    if apply:
                        storage.delete(key)
            if progress:
                progress(report)

    # 2. Rows without objects (checked against the listing of each row's directory).
    listed_dir, listed = None, set()
    rows = FileStorage.objects.filter(created_at__lt=cutoff).order_by("file")
    for pk, key in rows.values_list("pk", "file").iterator(chunk_size=2000):
        directory, name = posixpath.split(key)
        if directory != listed_dir:
            try:
                listed = set(storage.listdir(directory)[1])
            except FileNotFoundError:
                listed = set()
            listed_dir = directory
        if name not in listed:
            report.orphan_rows.append(pk)
    if apply and report.orphan_rows:
        FileStorage.objects.filter(pk__in=report.orphan_rows).delete()
    if report.orphan_objects or report.orphan_rows:
        logger.warning(
            "file orphans: %d objects without metadata, %d rows without objects (%s)",
            len(report.orphan_objects),
            len(report.orphan_rows),
            "deleted" if apply else "dry run",
        )
    return report
