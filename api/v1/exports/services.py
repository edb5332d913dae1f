"""Requesting, running and expiring exports."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from core.events import raise_event

from .constants import ExportStatus
from .models import Export
from .writers import write_csv

logger = logging.getLogger("api.v1.exports")


@transaction.atomic
def request_export(*, organization_id: int, user_id: int | None, kind: str, format: str) -> Export:
    """Store a pending export; ``export.requested`` queues ``tasks.run_export`` through the
    outbox in this transaction (the subscription is declared in ``apps.py``)."""
    export = Export.objects.create(
        organization_id=organization_id,
        created_by_id=user_id,
        kind=kind,
        format=format,
        expires_at=timezone.now() + timedelta(hours=settings.EXPORT_TTL_HOURS),
    )
    raise_event(
        "export.requested",
        organization_id=organization_id,
        export_id=export.pk,
        user_id=user_id,
    )
    return export


def claim_export(organization_id: int, export_id: int) -> Export | None:
    """Mark the export running (counting the attempt); None if it is already finished/gone."""
    with transaction.atomic():
        export = (
            Export.objects.select_for_update()
            .filter(organization_id=organization_id, pk=export_id)
            .first()
        )
        if export is None or export.status in {ExportStatus.DONE, ExportStatus.FAILED}:
            return None
        export.status = ExportStatus.RUNNING
        export.attempts += 1
        export.next_attempt_at = None
        export.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
        return export


def build_export(export: Export) -> None:
    """Write the file, then finish the export unless another run finished it first.

    Each attempt writes its own file name; the finishing transaction locks the row, so when
    two runs race (a redelivered task) exactly one file is kept and the other is deleted.
    """
    spool, count = write_csv(export.kind, export.organization_id)
    name = f"exports/{export.organization_id}/export-{export.pk}-{export.attempts}.{export.format}"
    with spool:
        stored = default_storage.save(name, File(spool, name=name))
    with transaction.atomic():
        current = Export.objects.select_for_update().filter(pk=export.pk).first()
        if current is None or current.status == ExportStatus.DONE:
            default_storage.delete(stored)
            return
        current.status = ExportStatus.DONE
        current.file.name = stored
        current.row_count = count
        current.error = ""
        current.finished_at = timezone.now()
        current.next_attempt_at = None
        current.save(
            update_fields=[
                "status", "file", "row_count", "error", "finished_at", "next_attempt_at",
                "updated_at",
            ]
        )  # fmt: skip


def fail_export(export_id: int, error: str) -> None:
    Export.objects.filter(pk=export_id).exclude(status=ExportStatus.DONE).update(
        status=ExportStatus.FAILED,
        error=error[:2000],
        finished_at=timezone.now(),
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def wait_for_retry(export_id: int, next_attempt_at) -> None:
    """A run failed transiently and its retry is scheduled: pending again, not "running"."""
    Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.PENDING, next_attempt_at=next_attempt_at, updated_at=timezone.now()
    )


def delete_expired_exports(now=None) -> int:
    """Delete exports past ``expires_at`` with their files; return how many."""
    now = now or timezone.now()
    deleted = 0
    for export in Export.objects.filter(expires_at__lte=now).only("id", "file").iterator():
        if export.file.name:
            default_storage.delete(export.file.name)
        export.delete()
        deleted += 1
    return deleted
