"""Domain events: domain code says what happened; subscribers decide what follows.

A module declares its events and subscribes to any module's events in ``AppConfig.ready()``::

    from core.events import register_event, subscribe

    register_event("order.placed", "An order was stored; payload: order_id, organization_id.")
    subscribe("order.placed", task="api.v1.sales.orders.tasks.send_order_confirmation")  # ErpTask
    subscribe("order.placed", handler=warm_dashboard, name="x")  # in-process, after commit

and raises them from its services, inside the transaction that made the change::

    raise_event("order.placed", organization_id=order.organization_id, order_id=order.pk)

What a raise does, per subscriber, in registration order:
- ``task=``: the task is written to the outbox (``core.outbox.enqueue``) in the raising
  transaction, with the payload as its keyword arguments (``kwargs=`` maps the payload to other
  arguments; ``when=`` is a predicate on the payload that skips the subscriber). A rollback takes it away; after commit the outbox publishes it, at least once,
  so the task must be idempotent (``core.outbox.effects.once``).
- ``handler=``: ``handler(payload)`` runs in-process after the transaction commits (never on
  rollback). An exception there is logged, not raised: the change is already committed. Use it
  for cheap, loss-tolerant reactions (caches, metrics); anything that must happen is a task.

The payload is JSON-serializable keyword arguments; ``organization_id`` is always one of them.
Raising an event nobody registered is a programming error (``ImproperlyConfigured``), which
catches typos in event names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from core.registry import Event, Ref, Subscriber, registry, resolve

__all__ = ["raise_event", "register_event", "subscribe", "subscribers"]

logger = logging.getLogger("core.events")


def register_event(name: str, description: str = "") -> None:
    """Declare event ``name`` (``<module>.<past tense>``, e.g. ``invoice.issued``)."""
    if "." not in name:
        raise ImproperlyConfigured(f"event {name!r}: use '<module>.<what happened>'")
    events = registry["events"]
    if name in events and events[name].description != description:
        raise ImproperlyConfigured(f"event {name!r} is already registered differently.")
    events.setdefault(name, Event(name, description))


def subscribe(
    event: str,
    *,
    task=None,
    handler: Callable[[dict], None] | None = None,
    kwargs: Callable[[dict], dict] | None = None,
    when: Callable[[dict], bool] | None = None,
    name: str = "",
) -> None:
    """Run ``task`` (through the outbox) or ``handler`` (after commit) when ``event`` is raised.

    The event may be registered by a module later in INSTALLED_APPS; ``raise_event`` checks.
    """
    if (task is None) == (handler is None):
        raise ImproperlyConfigured(f"subscribe({event!r}): give exactly one of task= or handler=")
    if isinstance(task, str):
        # A dotted path (the task's module imported when the event is first raised, not in
        # ready()); ERP task names are their dotted paths.
        name, task = name or task, Ref(task)
    name = name or (task.name if task is not None else f"{handler.__module__}.{handler.__name__}")
    subscriber = Subscriber(event, name, handler=handler, task=task, kwargs=kwargs, when=when)
    store = registry["event_subscribers"].setdefault(event, [])
    if any(s.name == name for s in store):
        return  # the same subscription twice (a re-run ready()) changes nothing
    store.append(subscriber)


def subscribers(event: str) -> list[Subscriber]:
    return list(registry["event_subscribers"].get(event, ()))


def raise_event(event: str, *, organization_id: int | None, **payload) -> None:
    """Tell the subscribers of ``event``; call it inside the transaction that made the change."""
    if event not in registry["events"]:
        raise ImproperlyConfigured(f"event {event!r} is not registered (core.events)")
    payload = {"organization_id": organization_id, **payload}
    for subscriber in subscribers(event):
        if subscriber.when is not None and not subscriber.when(payload):
            continue
        if subscriber.task is not None:
            from core.outbox.services import enqueue

            kwargs = subscriber.kwargs(payload) if subscriber.kwargs else dict(payload)
            enqueue(resolve(subscriber.task), kwargs=kwargs)
        else:
            transaction.on_commit(partial(_run_handler, subscriber, dict(payload)))


def _run_handler(subscriber: Subscriber, payload: dict) -> None:
    try:
        subscriber.handler(payload)
    except Exception:  # noqa: BLE001 - committed already: log, never fail the caller
        logger.exception(
            "event.subscriber_failed event=%s subscriber=%s", subscriber.event, subscriber.name
        )
