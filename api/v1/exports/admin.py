from django.contrib import admin

from .models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "kind", "format", "status", "row_count", "created_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Export._meta.fields]
