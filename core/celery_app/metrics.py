"""Prometheus collector for the task system, computed at scrape time from the broker (Redis).

The outbox backlog families come from ``core.outbox.metrics``."""

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.registry import register_metrics_collector

from . import monitor


class CeleryCollector:
    def collect(self):
        status = monitor.read_status()
        up = GaugeMetricFamily("erp_celery_broker_up", "1 if the broker answered PING")
        up.add_metric([], 1 if status.broker_ok else 0)
        yield up

        if status.broker_ok:
            aof = GaugeMetricFamily(
                "erp_celery_broker_appendonly", "1 if the broker Redis has appendonly yes"
            )
            aof.add_metric([], 1 if status.broker_appendonly else 0)
            noeviction = GaugeMetricFamily(
                "erp_celery_broker_noeviction",
                "1 if the broker Redis has maxmemory-policy noeviction",
            )
            noeviction.add_metric([], 1 if status.broker_maxmemory_policy == "noeviction" else 0)
            unsafe = GaugeMetricFamily(
                "erp_celery_broker_unsafe_settings",
                "Broker Redis settings that can lose tasks (appendonly no, evicting policy)",
            )
            unsafe.add_metric([], len(status.broker_warnings))
            yield from (aof, noeviction, unsafe)

        queued = GaugeMetricFamily(
            "erp_celery_queue_messages",
            "Messages per queue: ready (waiting) or unacked (delivered, not yet acknowledged)",
            labels=["queue", "state"],
        )
        for name, depth in status.queues.items():
            queued.add_metric([name, "ready"], depth.ready)
            queued.add_metric([name, "unacked"], depth.unacked)
        yield queued

        workers = GaugeMetricFamily(
            "erp_celery_workers_alive", "Workers with a heartbeat within the allowed age"
        )
        workers.add_metric([], len(status.workers))
        yield workers

        if status.beat_age is not None:
            beat = GaugeMetricFamily(
                "erp_celery_beat_heartbeat_age_seconds", "Seconds since beat's last tick"
            )
            beat.add_metric([], status.beat_age)
            yield beat

        tasks = CounterMetricFamily(
            "erp_celery_tasks", "Task outcomes per task name", labels=["task", "state"]
        )
        for name, counts in sorted(status.tasks.items()):
            for state, count in counts.items():
                tasks.add_metric([name, state], count)
        yield tasks


register_metrics_collector("celery", CeleryCollector())
