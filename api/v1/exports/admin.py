from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin

from .models import Export


@admin.register(Export)
class ExportAdmin(OrganizationScopedAdmin):
    list_display = ["id", "organization", "kind", "format", "status", "row_count", "created_at"]
    list_filter = ["status", "kind", "organization"]
    readonly_fields = [f.name for f in Export._meta.fields]
