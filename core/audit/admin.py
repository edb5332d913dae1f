"""The audit log in the admin: read-only (records are immutable; the application role can't
change them anyway), filtered by organization, action and object type, searched by object id
or request id. Organization and actor come with the page's one query (``list_select_related``).

The object-type filter lists the audited models (``triggers.audited_models()``) instead of
Django's ``SELECT DISTINCT object_type`` over the whole table, which grows without bound.
"""

from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin, ReadOnlyAdmin

from .models import AuditRecord
from .triggers import audited_models


class ObjectTypeFilter(admin.SimpleListFilter):
    title = "object type"
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        return [(m._meta.label_lower, m._meta.label_lower) for m, _ in audited_models()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(object_type=self.value())
        return queryset


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdmin, OrganizationScopedAdmin):
    list_display = [
        "id", "created_at", "organization", "actor", "action", "object_type", "object_id",
        "request_id",
    ]  # fmt: skip
    list_filter = ["organization", "action", ObjectTypeFilter]
    list_select_related = ["organization", "actor"]
    search_fields = ["=object_id", "=request_id"]
    search_help_text = "Exact object id or request id"
    fields = [
        "created_at", "organization", "actor", "action", "object_type", "object_id",
        "request_id", "changes",
    ]  # fmt: skip
    readonly_fields = fields
