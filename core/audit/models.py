"""One audit record per created, updated or deleted row of an organization-scoped model.

Rows are written by the ``audit_record_change()`` trigger (``core.audit.triggers``) in the
transaction that made the change, whichever way it came (ORM, ``QuerySet.update()``, raw SQL);
nothing in Python writes them. The table is append-only for the application role (grants:
``core.audit.migrations``, ``core.db.provisioning``); ``manage.py prune_audit_log``, run as the
owner role, is the only thing that deletes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class AuditAction(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AuditRecord(models.Model):
    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(db_default=Now())
    # No database constraints: a record outlives the user and the organization it names.
    organization = models.ForeignKey(
        settings.ERP_ORGANIZATION_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    action = models.CharField(max_length=6, choices=AuditAction.choices)
    object_type = models.CharField(max_length=100)  # "<app_label>.<model>"
    object_id = models.CharField(max_length=64)
    changes = models.JSONField()  # {column: [old, new]}; the API names fields
    request_id = models.CharField(max_length=64, null=True)  # noqa: DJ001 (NULL: no request)

    class Meta:
        db_table = "audit_record"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "id"], name="audit_record_org_id"),
            models.Index(
                fields=["organization", "object_type", "object_id"], name="audit_record_object"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
