"""Metadata of uploaded files (the spec's "metadata database"); the bytes live in the storage."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from core.db.models import OrganizationScopedModel

__all__ = ["FileStorage", "ScanStatus", "generate_storage_key"]


class ScanStatus(models.TextChoices):
    NOT_SCANNED = "not_scanned", "Not scanned (scanning was off)"
    PENDING = "pending", "Waiting for the virus scan"
    CLEAN = "clean", "Clean"
    INFECTED = "infected", "Infected (quarantined)"
    FAILED = "failed", "Scan failed"


def generate_storage_key(instance: FileStorage, filename: str) -> str:
    """``files/<org>/<yyyy>/<mm>/<uuid>``: never derived from the user's name or path."""
    now = timezone.now()
    return f"files/{instance.organization_id}/{now:%Y/%m}/{uuid.uuid4().hex}"


class FileStorage(OrganizationScopedModel):
    """One uploaded file of an organization.

    ``file.name`` is the storage key (generated); ``original_name`` is the sanitised name the
    client sent, kept as metadata only. ``content_type`` is sniffed from the bytes. A file can be
    attached to any organization-scoped object (``attached_type`` + ``attached_id``).
    """

    file = models.FileField(upload_to=generate_storage_key, max_length=255, unique=True)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attached_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attached_id = models.PositiveBigIntegerField(null=True, blank=True)
    attached_to = GenericForeignKey("attached_type", "attached_id")
    scan_status = models.CharField(
        max_length=20, choices=ScanStatus.choices, default=ScanStatus.NOT_SCANNED
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(attached_type__isnull=True, attached_id__isnull=True)
                | models.Q(attached_type__isnull=False, attached_id__isnull=False),
                name="files_filestorage_attached_both_or_none",
            ),
            models.CheckConstraint(
                condition=models.Q(size__gt=0), name="files_filestorage_size_gt_0"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "attached_type", "attached_id"],
                name="files_attached_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.file.name})"

    @property
    def storage_key(self) -> str:
        return self.file.name
