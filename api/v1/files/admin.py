from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin, ReadOnlyAdmin

from .models import FileStorage


@admin.register(FileStorage)
class FileStorageAdmin(ReadOnlyAdmin, OrganizationScopedAdmin):
    """Read-only: files are stored, scanned and deleted through the API and its services."""

    list_display = [
        "id",
        "original_name",
        "organization",
        "size",
        "content_type",
        "scan_status",
        "uploaded_by",
        "created_at",
    ]
    list_filter = ["scan_status", "content_type", "organization"]
    list_select_related = ["organization", "uploaded_by"]
    search_fields = ["original_name", "sha256", "file", "organization__slug"]
