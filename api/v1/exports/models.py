from django.conf import settings
from django.db import models

from core.db.models import OrganizationScopedModel

from .constants import ExportFormat, ExportStatus


class Export(OrganizationScopedModel):
    """A requested export and, once done, its file in default storage.

    Created ``pending`` by ``services.request_export``; ``tasks.run_export`` moves it to
    ``running`` and then ``done`` (file + row count) or ``failed`` (error). A run that failed
    transiently (database, storage or network briefly unreachable) goes back to ``pending`` with
    ``next_attempt_at`` until its retry runs. Rows and files are deleted after ``expires_at`` by
    the periodic cleanup.
    """

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One of the registered export sources (core.registry), checked by the API serializer.
    kind = models.CharField(max_length=20)
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    row_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Set while the export waits for the retry of a transiently failed run (status pending).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"export {self.pk} {self.kind}.{self.format} ({self.status})"
