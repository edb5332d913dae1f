from django.contrib import admin

from core.db.admin import OrganizationScopedAdmin

from .models import Product


@admin.register(Product)
class ProductAdmin(OrganizationScopedAdmin):
    list_display = ["sku", "name", "organization", "price", "stock", "updated_at"]
    search_fields = ["sku", "name", "organization__slug"]
