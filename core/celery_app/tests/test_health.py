from datetime import timedelta

import pytest
from django.utils import timezone

from core.outbox.models import OutboxMessage
from core.testing.health import ready_with_details

# Health checks run in their own threads (own DB connections): rows must be committed.
pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def test_old_outbox_backlog_and_missing_worker_and_beat_are_degraded(broker, health_client):
    OutboxMessage.objects.create(
        task_name="tests.noop", created_at=timezone.now() - timedelta(hours=1)
    )
    response = ready_with_details(health_client)
    assert response.status_code == 200
    components = response.json()["components"]
    assert components["celery_broker"]["status"] == "ok"
    assert components["outbox"]["status"] == "degraded"
    assert "1 task(s) waiting" in components["outbox"]["error"]
    assert components["celery_workers"]["status"] == "degraded"
    assert "beat last seen never" in components["celery_beat"]["error"]

    metrics = health_client.get("/metrics").content.decode()
    assert "erp_outbox_backlog 1.0" in metrics
    assert "erp_celery_workers_alive 0.0" in metrics
    assert 'erp_celery_queue_messages{queue="celery",state="ready"} 0.0' in metrics
