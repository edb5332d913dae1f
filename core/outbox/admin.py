from django.contrib import admin

from .models import DeadLetter, OutboxMessage, TaskEffect


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


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Tasks that gave up (read-only here; `manage.py retry_dead_tasks` re-sends them)."""

    list_display = ["task_name", "organization_id", "transient", "attempts", "first_failed_at"]
    list_filter = ["task_name", "transient"]
    search_fields = ["task_id", "task_name", "exception"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]

    def has_add_permission(self, request):
        return False
