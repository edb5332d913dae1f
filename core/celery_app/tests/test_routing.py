"""Queue routing (CELERY_TASK_ROUTES, docs/celery.md "Queues"): exports, e-mails and file scans
each on their own queue; a worker started without ``-Q`` (``make run``) consumes all of them, a
worker with ``-Q <queue>`` (one Kubernetes Deployment / systemd ``erp-worker@<queue>`` each)
only its own."""

import uuid

import pytest
from django.conf import settings

from core.celery_app import app, monitor
from core.celery_app.testing import wait_for

from .tasks_for_tests import record_worker_pid

# The documented routes (docs/celery.md "Queues"): task name -> queue.
DOCUMENTED = {
    "api.v1.exports.tasks.run_export": "exports",
    "api.v1.sales.orders.tasks.send_order_confirmation": "emails",
    "api.v1.sales.invoices.tasks.send_invoice_email": "emails",
    "api.v1.files.tasks.scan_file": "file_scans",
    "api.v1.exports.tasks.cleanup_expired_exports": "celery",
    "api.v1.files.tasks.cleanup_orphan_files": "celery",
    "core.outbox.tasks.relay_outbox": "celery",
    "core.db.tasks.nightly_backup": "celery",
}


@pytest.fixture(autouse=True)
def every_task_loaded():
    """What a worker imports at start: CELERY_IMPORTS and every app's tasks module."""
    app.loader.import_default_modules()


def _queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(("task_name", "queue"), DOCUMENTED.items())
def test_each_task_routes_where_documented(task_name, queue):
    assert task_name in app.tasks
    assert _queue_of(task_name) == queue


def test_every_project_task_has_a_declared_queue():
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert queues == {"celery", "exports", "emails", "file_scans"}
    for name in app.tasks:
        if not name.startswith("celery."):
            assert _queue_of(name) in queues, name
    assert set(monitor.monitored_queues()) == queues  # depths reported for every queue


def test_docs_name_every_queue():
    from pathlib import Path

    text = (Path(settings.BASE_DIR) / "docs" / "celery.md").read_text()
    for task_name, queue in DOCUMENTED.items():
        assert f"`{queue}`" in text and task_name.rsplit(".", 1)[1] in text, task_name


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_published_tasks_land_on_their_queue(broker):
    """Real publishes on a private redis-server (no worker): each lands on its own list."""
    from api.v1.exports.tasks import run_export
    from api.v1.files.tasks import scan_file
    from api.v1.sales.orders.tasks import send_order_confirmation

    run_export.apply_async(kwargs={"export_id": 1, "organization_id": 1})
    send_order_confirmation.apply_async(kwargs={"order_id": 1, "organization_id": 1})
    scan_file.apply_async(kwargs={"file_id": 1, "organization_id": 1})
    # By name, as the outbox relay publishes (no result: task state lives in the database).
    app.send_task("api.v1.sales.invoices.tasks.send_invoice_email", kwargs={}, ignore_result=True)
    ready = {name: depth.ready for name, depth in monitor.read_status().queues.items()}
    assert ready == {"celery": 0, "exports": 1, "emails": 2, "file_scans": 1}


@pytest.mark.integration
@pytest.mark.xdist_group("celery")
@pytest.mark.django_db(transaction=True)
def test_make_run_worker_consumes_every_queue_and_a_queue_worker_only_its_own(start_worker, broker):
    counters_url, counters = broker.url_for(5), broker.client(5)
    only_exports = start_worker("exports-only", worker_options={"queues": ["exports"]})
    key = f"pid-{uuid.uuid4().hex}"
    record_worker_pid.apply_async(kwargs={"key": key, "redis_url": counters_url}, queue="exports")
    assert int(wait_for(lambda: counters.get(key), what="the exports task")) == (
        only_exports.process.pid
    )
    record_worker_pid.apply_async(
        kwargs={"key": "emails-task", "redis_url": counters_url}, queue="emails"
    )
    wait_for(lambda: monitor.read_status().queues["emails"].ready == 1, what="the e-mail message")

    all_queues = start_worker("all")  # like make run: no -Q
    wait_for(lambda: counters.get("emails-task"), what="the e-mail task run by the -Q-less worker")
    assert int(counters.get("emails-task")) == all_queues.process.pid
    for queue in ("celery", "file_scans"):
        record_worker_pid.apply_async(
            kwargs={"key": f"{queue}-task", "redis_url": counters_url}, queue=queue
        )
        wait_for(lambda queue=queue: counters.get(f"{queue}-task"), what=f"a task on {queue}")
