from django.contrib import admin

from core.db.admin import ReadOnlyAdmin

from .models import PermissionGrant


@admin.register(PermissionGrant)
class PermissionGrantAdmin(ReadOnlyAdmin):
    """Which registered permissions have had their default role grants applied (read-only)."""

    list_display = ["codename", "granted_at"]
    search_fields = ["codename"]
