from prometheus_client import CollectorRegistry

# The one Prometheus registry /metrics serves; collectors are added through
# core.registry.register_metrics_collector (the platform registry keeps their names).
REGISTRY = CollectorRegistry(auto_describe=False)


def register_collector(name: str, collector) -> None:
    """Register ``collector`` once under ``name`` (idempotent across repeated imports)."""
    from core.registry import register_metrics_collector

    register_metrics_collector(name, collector)
