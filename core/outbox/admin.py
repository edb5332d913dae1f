from django.contrib import admin

from .models import OutboxMessage, TaskEffect


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "task_name", "organization_id", "created_at", "attempts", "sent_at"]
    list_filter = ["task_name", ("sent_at", admin.EmptyFieldListFilter)]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]


@admin.register(TaskEffect)
class TaskEffectAdmin(admin.ModelAdmin):
    list_display = ["key", "task_name", "organization_id", "created_at"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in TaskEffect._meta.fields]
