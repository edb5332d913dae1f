from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin, ReadOnlyAdmin, ReadOnlyInline

from .models import Invoice, InvoiceLine, InvoiceNumberCounter


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["product", "quantity", "unit_price"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin, OrganizationScopedAdmin):
    """Read-only: invoices are created, issued (numbered), paid and voided by services."""

    list_display = ["id", "number", "organization", "order", "status", "total", "issued_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "order"]
    search_fields = ["=number", "organization__slug"]
    inlines = [InvoiceLineInline]


@admin.register(InvoiceNumberCounter)
class InvoiceNumberCounterAdmin(ReadOnlyAdmin):
    list_display = ["organization", "last_number"]
    list_select_related = ["organization"]
    search_fields = ["organization__slug"]
