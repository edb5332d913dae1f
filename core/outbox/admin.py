from django.contrib import admin, messages

from .models import DeadLetter, OutboxMessage, TaskEffect


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id", "task_name", "organization_id", "created_at", "attempts", "retries", "sent_at",
    ]  # fmt: skip
    list_filter = ["task_name", ("sent_at", admin.EmptyFieldListFilter)]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]


@admin.register(TaskEffect)
class TaskEffectAdmin(admin.ModelAdmin):
    list_display = ["key", "task_name", "organization_id", "created_at"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in TaskEffect._meta.fields]


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Read-only, with the ``retry_dead_tasks`` re-send as an action."""

    list_display = [
        "id", "task_name", "organization_id", "exception_head", "attempts",
        "first_failed_at", "last_failed_at", "resent_at",
    ]  # fmt: skip
    list_filter = ["task_name", "transient", ("resent_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name", "task_id", "exception"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]
    actions = ["resend_selected"]

    @admin.display(description="exception")
    def exception_head(self, obj: DeadLetter) -> str:
        return obj.exception[:80]

    @admin.action(description="Re-send through the outbox (effects guarded by once() not repeated)")
    def resend_selected(self, request, queryset):
        from .dead_letters import resend  # the Celery app: on use, not at admin autodiscovery

        results = [resend(dead) for dead in queryset.order_by("id")]
        published = sum(r.published for r in results)
        self.message_user(
            request,
            f"Re-sent {len(results)} dead letter(s): {published} published, "
            f"{len(results) - published} waiting in the outbox for the relay.",
            messages.SUCCESS,
        )
