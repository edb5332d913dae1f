from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin, ReadOnlyAdmin, ReadOnlyInline

from .models import Order, OrderLine, OrderNumberCounter


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product", "quantity", "unit_price"]
    readonly_fields = fields
    raw_id_fields = ["product"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin, OrganizationScopedAdmin):
    """Read-only: orders are placed and cancelled by services (stock, events, e-mail)."""

    list_display = ["number", "organization", "status", "total", "created_by", "created_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["organization", "created_by"]
    search_fields = ["=number", "organization__slug", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]


@admin.register(OrderNumberCounter)
class OrderNumberCounterAdmin(ReadOnlyAdmin):
    list_display = ["organization", "last_number"]
    list_select_related = ["organization"]
    search_fields = ["organization__slug"]
