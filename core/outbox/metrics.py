"""Prometheus collector of the outbox backlog (one SQL aggregate at scrape time)."""

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily

from core.registry import register_metrics_collector

from .services import outbox_backlog


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


register_metrics_collector("outbox", OutboxCollector())
