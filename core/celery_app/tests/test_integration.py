"""The task system against a real Redis and real worker processes.

Each test starts a private redis-server (free port, temp dir) and its own worker(s) on the
pytest-django test database, so committed rows are visible to the worker (``transaction=True``).
"""

import csv
import io
import json
import uuid

import pytest
import redis
from django.db import transaction

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.catalog.products.serializers import ProductSerializer
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.exports.services import request_export
from api.v1.sales.orders.services import LineRequest, place_order
from api.v1.sales.orders.tasks import confirmation_key
from conftest import add_member, client_for
from core.celery_app import monitor
from core.celery_app.testing import wait_for
from core.outbox.models import OutboxMessage, TaskEffect
from core.outbox.services import outbox_backlog, relay_pending
from core.testing.health import ready_with_details

from .tasks_for_tests import slow_effect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("celery"),
    pytest.mark.django_db(transaction=True),
]


def test_export_end_to_end_through_the_api(start_worker, health_client):
    client = health_client
    worker = start_worker("export")
    org, other = OrganizationFactory(), OrganizationFactory()
    mine = ProductFactory.create_batch(3, organization=org)
    ProductFactory.create_batch(2, organization=other)
    api = client_for(add_member(org, "admin"), org)

    response = api.post("/api/v1/exports/", {"kind": "products", "format": "csv"})
    assert response.status_code == 202, response.content
    export_id = response.json()["id"]
    assert response.json()["status"] == "pending"

    def finished():
        body = api.get(f"/api/v1/exports/{export_id}/").json()
        return body if body["status"] in {"done", "failed"} else None

    body = wait_for(finished, what="export to finish")
    assert body["status"] == "done", body
    assert body["row_count"] == 3
    download = api.get(body["download_url"])
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == list(ProductSerializer().fields)
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(p.pk for p in mine)

    # The worker's signals and heartbeats reach the monitoring read by /metrics and health.
    status = wait_for(
        lambda: (s := monitor.read_status()).tasks.get("api.v1.exports.tasks.run_export") and s,
        what="task counters",
    )
    assert status.tasks["api.v1.exports.tasks.run_export"]["succeeded"] == 1
    assert worker.hostname in status.workers
    assert outbox_backlog()[0] == 0
    metrics = client.get("/metrics").content.decode()
    assert (
        'erp_celery_tasks_total{state="succeeded",task="api.v1.exports.tasks.run_export"} 1.0'
        in metrics
    )
    assert "erp_celery_workers_alive 1.0" in metrics
    health = ready_with_details(client).json()["components"]
    assert health["celery_broker"]["status"] == "ok"
    assert health["celery_workers"]["status"] == "ok"


def test_worker_killed_mid_task_redelivers_and_effect_happens_once(start_worker, broker):
    visibility = {"CELERY_VISIBILITY_TIMEOUT": "2"}
    first = start_worker("victim", **visibility)
    key = f"kill-{uuid.uuid4().hex}"
    counters = redis.Redis.from_url(broker.url_for(1))
    with transaction.atomic():
        slow_effect.delay_on_commit(key=key, redis_url=broker.url_for(1), sleep=60)

    wait_for(lambda: counters.get(f"{key}:deliveries") == b"1", what="the task to start")
    first.kill()
    assert counters.get(f"{key}:effects") is None  # killed before its effect
    client = monitor.broker_redis()
    assert monitor.queue_depths(client)[1] == 1  # held unacked by the dead worker

    start_worker("rescuer", **visibility)
    # Redelivered by kombu's visibility timeout or by the orphan restore (CELERY_ORPHAN_AFTER
    # 30 s + one 10 s scan, docs/celery.md), whichever comes first, after the rescuer boots.
    wait_for(
        lambda: counters.get(f"{key}:effects") == b"1", timeout=90, what="the redelivered task"
    )
    assert int(counters.get(f"{key}:deliveries")) == 2
    # The Redis counter is bumped inside once()'s transaction: its COMMIT may follow a moment later.
    wait_for(lambda: TaskEffect.objects.filter(key=key).count() == 1, what="the effect's commit")
    wait_for(lambda: monitor.queue_depths(client)[1] == 0, what="the ack")
    assert int(counters.get(f"{key}:effects")) == 1


def test_broker_down_during_order_placement_outbox_delivers_once(start_worker, broker, tmp_path):
    org = OrganizationFactory()
    product = ProductFactory(organization=org, stock=5)
    user = add_member(org, "member")
    api = client_for(user, org)

    broker.stop()
    response = api.post("/api/v1/orders/", {"lines": [{"product": product.pk, "quantity": 2}]})
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    message = OutboxMessage.objects.get()
    assert message.sent_at is None and message.attempts == 1 and message.last_error
    assert message.kwargs == {"order_id": order_id, "organization_id": org.pk}
    assert relay_pending()["sent"] == 0  # not due yet / still down: nothing lost either way

    broker.start()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    start_worker(
        "mailer",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    OutboxMessage.objects.update(next_attempt_at=message.created_at)  # due now
    assert relay_pending()["sent"] == 1
    wait_for(lambda: TaskEffect.objects.filter(key=confirmation_key(order_id)).exists(),
             what="the confirmation e-mail")  # fmt: skip
    assert relay_pending()["sent"] == 0  # marked sent: never published again
    mails = [p.read_text() for p in mail_dir.iterdir()]
    assert len(mails) == 1
    assert f"Order #{order_id} confirmed" in mails[0] and user.email in mails[0]


def test_rolled_back_transaction_publishes_nothing(broker, start_worker):
    org = OrganizationFactory()
    product = ProductFactory(organization=org, stock=5)
    user = add_member(org, "admin")
    client = monitor.broker_redis()

    def ready():
        return sum(depth.ready for depth in monitor.queue_depths(client)[0].values())

    def change_that_queues_three_tasks(key):
        place_order(
            organization_id=org.pk, user_id=user.pk, lines=[LineRequest(product.pk, 1)], metadata={}
        )
        request_export(organization_id=org.pk, user_id=user.pk, kind="orders", format="csv")
        slow_effect.delay_on_commit(key=key, redis_url=broker.url_for(1), sleep=0)

    with pytest.raises(RuntimeError), transaction.atomic():
        change_that_queues_three_tasks("rolled-back")
        raise RuntimeError("roll back")

    assert OutboxMessage.objects.count() == 0
    assert relay_pending()["sent"] == 0
    assert ready() == 0

    # Control: the same work committed does reach the broker (3 messages, no worker running).
    with transaction.atomic():
        change_that_queues_three_tasks("committed")
    assert ready() == 3
    assert OutboxMessage.objects.filter(sent_at__isnull=False).count() == 2


def test_health_reports_broker_down_as_degraded_not_503(broker, health_client):
    client = health_client
    broker.stop()
    response = ready_with_details(client)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["celery_broker"]["status"] == "degraded"
    assert body["components"]["database"]["status"] == "ok"
    assert "erp_celery_broker_up 0.0" in client.get("/metrics").content.decode()


def test_celery_status_command(broker, capsys):
    from django.core.management import CommandError, call_command

    from core.celery_app.tests.tasks_for_tests import noop

    noop.delay()  # one ready message, no worker running
    OutboxMessage.objects.create(task_name="tests.noop")
    call_command("celery_status")
    out = capsys.readouterr().out
    assert "broker" in out and "reachable" in out
    assert "queue celery" in out and "1 ready" in out
    assert "outbox backlog" in out
    assert "No worker heartbeat" in out

    broker.stop()
    with pytest.raises(CommandError, match="unreachable"):
        call_command("celery_status")


def test_beat_runs_database_schedules_and_reports_its_heartbeat(start_beat, broker):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.filter(name="erp: outbox relay").update(interval=every_second)
    beat = start_beat()
    client = monitor.broker_redis()

    def relay_queued():
        beat.check_running()
        messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
        return [m for m in messages if m["headers"]["task"] == "core.outbox.tasks.relay_outbox"]

    assert wait_for(relay_queued, what="beat to send the outbox relay")
    status = monitor.read_status()
    assert status.beat_age is not None and status.beat_age < 60
