"""Prometheus ``/metrics``: one registry, collectors contributed by each component.

A component adds a collector (an object with ``collect()`` yielding prometheus_client metric
families) with ``core.registry.register_metrics_collector``. Collectors compute their values at scrape time, from the
backend itself (PostgreSQL statistics views, Redis INFO, broker queues), so numbers agree across
the several gunicorn worker processes.
"""
