from prometheus_client import CollectorRegistry

REGISTRY = CollectorRegistry(auto_describe=False)
_registered: set[str] = set()


def register_collector(name: str, collector) -> None:
    """Register ``collector`` once under ``name`` (idempotent across repeated imports)."""
    if name in _registered:
        return
    REGISTRY.register(collector)
    _registered.add(name)
