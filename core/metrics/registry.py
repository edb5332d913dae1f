from prometheus_client import CollectorRegistry

from core.registry import registry

# The one Prometheus registry /metrics serves. Components add collectors with
# core.registry.register_metrics_collector; this reads them at every scrape.


class _RegisteredCollectors:
    def collect(self):
        for collector in list(registry["metrics_collectors"].values()):
            yield from collector.collect()


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(_RegisteredCollectors())
