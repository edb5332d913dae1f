"""Admin base classes for the platform's models (each app registers its own in ``admin.py``).

``OrganizationScopedAdmin``: filter and search by organization, the organization fetched with a
join (``list_select_related``), never a query per row. The admin is a superuser/staff tool that
sees every organization (Django's own permissions apply; no membership is needed): rows are not
restricted to a current organization as API requests are.

``ReadOnlyAdmin``: for rows that only services may write (orders take stock, invoices number
themselves, files live in storage): view and search, no add/change/delete.
"""

from django.contrib import admin

__all__ = ["OrganizationScopedAdmin", "ReadOnlyAdmin", "ReadOnlyInline"]


class OrganizationScopedAdmin(admin.ModelAdmin):
    list_filter = ["organization"]
    list_select_related = ["organization"]
    search_fields = ["organization__slug"]
    raw_id_fields = ["organization"]
    show_full_result_count = False  # no second COUNT(*) over every organization's rows


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
