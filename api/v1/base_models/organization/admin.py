from django.contrib import admin

from .models import Membership, Organization, Role


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["organization", "user", "role"]
    list_filter = ["role", "organization"]
    list_select_related = ["organization", "user", "role"]
    search_fields = ["user__username", "user__email", "organization__slug"]
    raw_id_fields = ["user", "organization"]
