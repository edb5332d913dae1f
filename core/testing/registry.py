"""Tests that register things (a permission, an event) put the platform registry back after."""

from __future__ import annotations

import contextlib
import copy

from core.registry import registry


@contextlib.contextmanager
def isolated_registry():
    """Registrations made inside the block are forgotten when it ends (tests only: in a
    running process the registry is append-only)."""
    saved = {name: copy.copy(store) for name, store in registry.items()}
    saved_subscribers = {k: list(v) for k, v in registry["event_subscribers"].items()}
    try:
        yield registry
    finally:
        for name, store in saved.items():
            registry[name].clear()
            if isinstance(store, dict):
                registry[name].update(store)
            else:
                registry[name].extend(store)
        registry["event_subscribers"].clear()
        registry["event_subscribers"].update(saved_subscribers)
