"""The platform registry: what every module declares, collected once at startup.

Modeled on NetBox's ``netbox.registry``: the platform creates each *store* once (below); a
module adds to the stores from its own ``AppConfig.ready()`` through the ``register_*``
functions, never by editing a central list. Stores are append-only: a key is registered once
(registering the same key again with a different value is a configuration error, raised at
startup), nothing is ever removed, and the registry itself refuses new or replaced stores.

Stores and their register functions (docs/modules.md shows a whole module):

=====================  ===============================  =========================================
store                  register with                    read by
=====================  ===============================  =========================================
``permissions``        ``register_permissions``         RBAC, built-in roles (post_migrate)
``export_sources``     ``register_export_source``       exports (``POST /api/v1/exports/``)
``schedules``          ``register_schedule``            ``ensure_schedules`` (beat, post_migrate)
``health_checks``      ``register_health_check``        ``/health/ready/``
``metrics_collectors`` ``register_metrics_collector``   ``/metrics``
``demo_data``          ``register_demo_data``           ``manage.py seed_demo``
``doctor_checks``      ``register_doctor_check``        ``manage.py doctor``, ``/ops/``
``ops_panels``         ``register_ops_panel``           ``/ops/`` (operations page)
``routes``             ``register_route``/``_urls``     ``api/v1/urls.py``
``attachable_types``   ``register_attachable``          files ``attach_to``
``events``             ``core.events.register_event``   ``core.events.raise_event``
``event_subscribers``  ``core.events.subscribe``        ``core.events.raise_event``
=====================  ===============================  =========================================

Views, serializers, tasks and the functions of demo data, doctor checks and ops panels may be
given as dotted paths (``"api.v1.catalog.products.views.ProductViewSet"``): the registry keeps a
:class:`Ref` and imports the object on first use (URLconf load, first export, first event).
``ready()`` then imports no view, serializer or task module, and a management command starts
without DRF's views or the Celery app (``make bench-startup``; core/tests/test_startup.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

# The built-in roles (rows of organizations.Role, seeded by the platform). The owner holds every
# registered permission; a permission names the other roles that get it by default.
OWNER, ADMIN, MEMBER, VIEWER = "owner", "admin", "member", "viewer"
BUILTIN_ROLES = (OWNER, ADMIN, MEMBER, VIEWER)
EVERY_ROLE = BUILTIN_ROLES
# The sections of ``manage.py doctor`` (core.doctor), in report order.
DOCTOR_SECTIONS = ("postgres", "redis", "celery", "storage", "backups", "security")


class Registry(dict):
    """A dict of stores whose keys can be neither replaced nor deleted (NetBox's Registry)."""

    def __getitem__(self, key):
        try:
            return super().__getitem__(key)
        except KeyError as exc:
            raise KeyError(f"Invalid store: {key}") from exc

    def __setitem__(self, key, value):
        raise TypeError("Cannot add or replace stores: the platform declares them once.")

    def __delitem__(self, key):
        raise TypeError("Cannot delete stores.")


# --- lazy references ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A dotted path to an object imported on first use. Calling a ``Ref`` calls the object
    (a serializer class, a demo loader, a doctor check), so readers that only call need not know."""

    path: str

    def resolve(self):
        return import_string(self.path)  # sys.modules caches the module after the first time

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)


def ref(value):
    """A dotted-path string becomes a :class:`Ref`; anything else stays as it is."""
    return Ref(value) if isinstance(value, str) else value


def resolve(value):
    """The object behind a :class:`Ref` (imported now), or ``value`` itself."""
    return value.resolve() if isinstance(value, Ref) else value


# --- what a store holds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    codename: str
    roles: frozenset[str]  # built-in roles granted by default (always including the owner)
    description: str = ""


@dataclass(frozen=True)
class ExportSource:
    """One export kind: ``queryset(organization_id)`` rows, written with ``serializer_class``
    (its field names are the CSV header, so a file matches the API)."""

    kind: str
    label: str
    serializer_class: type
    queryset: Callable[[int], Any]


@dataclass(frozen=True)
class Schedule:
    """A beat entry. ``every_seconds``/``expires_seconds`` may be callables (read settings at
    ``ensure_schedules`` time, so an operator's setting wins). Created when missing; an existing entry
    is left as the admin has it unless ``setup_schedules --reset``."""

    name: str
    task: str
    description: str
    every_seconds: int | Callable[[], int] | None = None
    crontab: dict | None = None  # minute, hour, day_of_week, day_of_month, month_of_year
    expires_seconds: int | Callable[[], int] | None = None


@dataclass(frozen=True)
class HealthCheck:
    name: str
    func: Callable[[], dict | None]
    critical: bool = False


@dataclass(frozen=True)
class DoctorCheck:
    """``func(ctx)`` yields ``core.doctor.Finding``s of one ``section`` (``core.doctor.SECTIONS``);
    ``ctx`` is a ``core.doctor.Context`` (production or not, live worker ping or not)."""

    name: str
    section: str
    func: Callable[[Any], Iterable[Any]]


@dataclass(frozen=True)
class OpsPanel:
    """A section of ``/ops/``: ``func()`` returns ``{"status", "items", "tables", ...}``
    (``core.ops.panels`` documents the shape); panels render in ``order``."""

    name: str
    title: str
    func: Callable[[], dict]
    order: int = 100


@dataclass(frozen=True)
class DemoData:
    """``func(demo)`` loads a module's demo rows (idempotent); ``demo`` is seed_demo's
    ``DemoContext`` (shared password, the demo organizations, a ``login()`` recorder)."""

    name: str
    func: Callable[[Any], None]


@dataclass(frozen=True)
class Route:
    """A DRF router registration (``prefix``, ``viewset``, ``basename``) or plain URL patterns."""

    prefix: str = ""
    viewset: type | Ref | None = None
    basename: str = ""
    urlpatterns: tuple = ()
    urlconf: str = ""  # a module whose ``urlpatterns`` are included (imported with the URLconf)


@dataclass(frozen=True)
class Event:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Subscriber:
    """``handler(payload)`` after commit in-process, or ``task`` enqueued through the outbox in
    the raising transaction with the payload as kwargs."""

    event: str
    name: str
    handler: Callable[[dict], None] | None = None
    task: Any = None
    kwargs: Callable[[dict], dict] | None = None  # payload -> task kwargs (default: payload)
    when: Callable[[dict], bool] | None = None  # skip the subscriber unless when(payload)


registry = Registry()
for _store in (
    "permissions",
    "export_sources",
    "schedules",
    "health_checks",
    "metrics_collectors",
    "demo_data",
    "doctor_checks",
    "ops_panels",
    "attachable_types",
    "events",
):
    dict.__setitem__(registry, _store, {})
dict.__setitem__(registry, "routes", [])
dict.__setitem__(registry, "event_subscribers", {})


def _identity(value):
    """What makes two declarations the same: functions by where they are defined (``ready()``
    runs again when tests swap INSTALLED_APPS, re-creating its lambdas)."""
    if callable(value) and hasattr(value, "__qualname__") and not isinstance(value, type):
        return (getattr(value, "__module__", ""), value.__qualname__)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(_identity(getattr(value, f.name)) for f in dataclasses.fields(value))
    return value


def _add(store: str, key: str, value) -> None:
    items = registry[store]
    if key in items:
        if _identity(items[key]) == _identity(value):
            return  # the same declaration again (ready() re-run) changes nothing
        raise ImproperlyConfigured(f"{store}: {key!r} is already registered differently.")
    items[key] = value


# --- register functions (call them from AppConfig.ready()) ----------------------------------


def register_permissions(grants: Mapping[str, Iterable[str]], *, descriptions=None) -> None:
    """Declare permissions and the built-in roles that hold them by default.

    ``register_permissions({"invoices.view": EVERY_ROLE, "invoices.issue": [ADMIN]})``. The
    owner gets every permission whatever the mapping says. Built-in role rows pick new
    permissions up after the next ``migrate`` (``core.permissions.grants``): no migration.
    """
    descriptions = descriptions or {}
    for codename, roles in grants.items():
        roles = frozenset(roles) | {OWNER}
        unknown = roles - set(BUILTIN_ROLES)
        if unknown:
            raise ImproperlyConfigured(f"{codename}: unknown built-in roles {sorted(unknown)}")
        _add(
            "permissions",
            str(codename),
            Permission(str(codename), roles, descriptions.get(codename, "")),
        )


def register_export_source(
    kind: str, *, serializer_class: type | str, queryset: Callable[[int], Any], label: str = ""
) -> None:
    """``serializer_class`` may be a dotted path (imported at the first export)."""
    _add(
        "export_sources",
        kind,
        ExportSource(
            kind, label or kind.replace("_", " ").capitalize(), ref(serializer_class), queryset
        ),
    )


def register_schedule(name: str, task: str, description: str, **timing) -> None:
    """``register_schedule("erp: ...", "dotted.task.name", "why", crontab={...})``; names start
    with ``erp:`` (the platform owns those beat rows)."""
    if not name.startswith("erp:"):
        raise ImproperlyConfigured(f"schedule {name!r}: names start with 'erp:'")
    _add("schedules", name, Schedule(name, task, description, **timing))


def register_health_check(name: str, func: Callable, *, critical: bool = False) -> None:
    _add("health_checks", name, HealthCheck(name, func, critical))


def register_metrics_collector(name: str, collector) -> None:
    """``collector.collect()`` yields prometheus_client metric families at scrape time
    (``/metrics`` reads this store, ``core.metrics.registry``)."""
    registry["metrics_collectors"].setdefault(name, collector)  # re-imported module: no-op


def register_doctor_check(name: str, func: Callable, *, section: str) -> None:
    """A ``manage.py doctor`` check: ``func(ctx)`` yields findings whose ids start with
    ``<section>.`` (docs/operations.md lists every id)."""
    if section not in DOCTOR_SECTIONS:
        raise ImproperlyConfigured(f"doctor check {name!r}: unknown section {section!r}")
    _add("doctor_checks", name, DoctorCheck(name, section, ref(func)))


def register_ops_panel(name: str, func: Callable[[], dict], *, title: str, order: int = 100):
    """A section of the operations page ``/ops/``."""
    _add("ops_panels", name, OpsPanel(name, title, ref(func), order))


def register_demo_data(name: str, func: Callable[[Any], None]) -> None:
    """Demo loaders run in registration order (INSTALLED_APPS order)."""
    _add("demo_data", name, DemoData(name, ref(func)))


def register_route(prefix: str, viewset: type | str, *, basename: str) -> None:
    """A viewset under ``/api/v1/<prefix>``; routes register in INSTALLED_APPS order. Give the
    viewset as a dotted path: it is imported when the URLconf loads, not in ``ready()``."""
    route = Route(prefix=prefix, viewset=ref(viewset), basename=basename)
    if route not in registry["routes"]:  # ready() re-run: once
        registry["routes"].append(route)


def register_urls(*urlpatterns) -> None:
    """Plain ``path()`` entries under ``/api/v1/`` (views that are not viewsets), or the dotted
    path of a module whose ``urlpatterns`` are included (``register_urls("app.urls")``: imported
    with the URLconf, not in ``ready()``)."""

    def names(route):
        return route.urlconf or [(str(p.pattern), p.name) for p in route.urlpatterns]

    if len(urlpatterns) == 1 and isinstance(urlpatterns[0], str):
        route = Route(urlconf=urlpatterns[0])
    else:
        route = Route(urlpatterns=tuple(urlpatterns))
    if all(names(route) != names(r) for r in registry["routes"]):  # ready() re-run: once
        registry["routes"].append(route)


def register_attachable(model_label: str) -> None:
    """Let files ``attach_to`` ``{"type": "<app_label>.<model>", "id": ...}`` objects of this
    organization-scoped model."""
    _add("attachable_types", model_label.lower(), model_label.lower())


# --- readers ---------------------------------------------------------------------------------


def permission_codenames() -> list[str]:
    return sorted(registry["permissions"])


def default_role_permissions() -> dict[str, frozenset[str]]:
    """{built-in role: the permissions it starts with}, from the registered permissions."""
    return {
        role: frozenset(p.codename for p in registry["permissions"].values() if role in p.roles)
        for role in BUILTIN_ROLES
    }


__all__ = [
    "ADMIN",
    "BUILTIN_ROLES",
    "EVERY_ROLE",
    "MEMBER",
    "OWNER",
    "Ref",
    "VIEWER",
    "default_role_permissions",
    "permission_codenames",
    "register_attachable",
    "register_demo_data",
    "register_doctor_check",
    "register_export_source",
    "register_health_check",
    "register_metrics_collector",
    "register_ops_panel",
    "register_permissions",
    "register_route",
    "register_schedule",
    "register_urls",
    "ref",
    "registry",
    "resolve",
]
