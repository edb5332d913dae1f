"""Token housekeeping (beat): expired tokens are refused at once; this deletes their rows."""

from __future__ import annotations

from django.utils import timezone
from knox.models import AuthToken

from core.celery_app.base import erp_task


@erp_task(name="api.v1.base_models.user.tasks.delete_expired_tokens", ignore_result=True)
def delete_expired_tokens() -> int:
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
