"""Prometheus collector of the outbox backlog, parked retries and dead letters (SQL at scrape
time). Retries are counted by ``erp_celery_tasks_total{state="retried"}`` (core.celery_app)."""

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily

from core.registry import register_metrics_collector

from .dead_letters import dead_letter_summary
from .services import outbox_backlog, parked_retries


class OutboxCollector:
    def collect(self):
        try:
            pending, oldest_age = outbox_backlog()
        except DatabaseError:  # e.g. not migrated yet; the database check reports it
            return
        backlog = GaugeMetricFamily("erp_outbox_backlog", "Outbox messages not yet published")
        backlog.add_metric([], pending)
        yield backlog
        oldest = GaugeMetricFamily(
            "erp_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox message"
        )
        oldest.add_metric([], oldest_age or 0)
        yield oldest
        parked = GaugeMetricFamily(
            "erp_outbox_parked_retries",
            "Tasks waiting in the outbox for their next attempt after a transient failure",
        )
        parked.add_metric([], parked_retries())
        yield parked
        dead, _ = dead_letter_summary()
        dead_letters = GaugeMetricFamily(
            "erp_celery_dead_letters",
            "Tasks that gave up and were not re-sent yet (manage.py retry_dead_tasks)",
        )
        dead_letters.add_metric([], dead)
        yield dead_letters


register_metrics_collector("outbox", OutboxCollector())
