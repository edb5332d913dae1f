"""The platform registry and domain events: what a module gets by declaring, not editing."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction

from api.v1.base_models.organization.models import Role
from api.v1.sales.orders.tasks import send_order_confirmation
from core.events import raise_event, register_event, subscribe
from core.models import PermissionGrant
from core.outbox.models import OutboxMessage
from core.permissions.grants import ensure_builtin_roles
from core.registry import (
    ADMIN,
    EVERY_ROLE,
    register_attachable,
    register_permissions,
    register_schedule,
    registry,
)
from core.tenancy.context import OrganizationContext, organization_scope
from core.testing.registry import isolated_registry


@pytest.fixture
def scratch():
    with isolated_registry() as reg:
        yield reg


def test_stores_are_append_only(scratch):
    with pytest.raises(TypeError):
        registry["permissions"] = {}
    with pytest.raises(TypeError):
        del registry["schedules"]
    with pytest.raises(KeyError, match="Invalid store"):
        registry["nope"]


def test_a_key_registered_twice_differently_is_a_configuration_error(scratch):
    register_permissions({"widgets.view": EVERY_ROLE})
    register_permissions({"widgets.view": EVERY_ROLE})  # the same again: no-op
    with pytest.raises(ImproperlyConfigured, match="widgets.view"):
        register_permissions({"widgets.view": [ADMIN]})
    with pytest.raises(ImproperlyConfigured, match="unknown built-in roles"):
        register_permissions({"widgets.edit": ["janitor"]})
    with pytest.raises(ImproperlyConfigured, match="erp:"):
        register_schedule("nightly", "x.y", "no prefix", every_seconds=5)


def test_every_module_is_collected_from_its_own_app_config():
    assert {"products", "orders"} <= set(registry["export_sources"])
    assert {"order.placed", "order.cancelled", "file.stored", "export.requested"} <= set(
        registry["events"]
    )
    assert {"orders.order", "products.product"} <= set(registry["attachable_types"])
    prefixes = {r.prefix for r in registry["routes"] if r.viewset}
    assert {"organizations", "products", "orders", "files", "exports"} <= prefixes
    assert {"storage", "outbox", "database"} <= set(registry["health_checks"])
    # In INSTALLED_APPS order (orders need products, ...); modules installed later come after.
    core_modules = ["users", "organizations", "products", "orders"]
    assert [name for name in registry["demo_data"] if name in core_modules] == core_modules


@pytest.mark.django_db(transaction=True)
def test_new_permission_reaches_built_in_roles_once_after_migrate(scratch):
    register_permissions({"widgets.view": EVERY_ROLE, "widgets.manage": [ADMIN]})
    call_command("migrate", verbosity=0)  # post_migrate: core.permissions.grants
    roles = {r.name: set(r.permissions) for r in Role.objects.all()}
    assert all("widgets.view" in roles[name] for name in EVERY_ROLE)
    assert "widgets.manage" in roles["admin"] and "widgets.manage" in roles["owner"]
    assert "widgets.manage" not in roles["member"] | roles["viewer"]
    assert PermissionGrant.objects.filter(codename="widgets.manage").exists()
    # An operator takes it away from the admins: the next migrate leaves that alone.
    admin = Role.objects.get(name="admin")
    admin.permissions = [p for p in admin.permissions if p != "widgets.manage"]
    admin.save()
    ensure_builtin_roles()
    assert "widgets.manage" not in Role.objects.get(name="admin").permissions


def test_raising_an_unregistered_event_is_an_error(scratch):
    with pytest.raises(ImproperlyConfigured, match="not registered"):
        raise_event("widget.exploded", organization_id=1)
    with pytest.raises(ImproperlyConfigured, match="exactly one"):
        subscribe("widget.made")


@pytest.mark.django_db(transaction=True)
def test_task_subscribers_are_written_in_the_raising_transaction(scratch, org, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # keep the publish from running the task
    register_event("widget.made", "test")
    subscribe(
        "widget.made",
        task=send_order_confirmation,
        when=lambda event: event["send"],
        kwargs=lambda event: {"order_id": event["widget_id"], "organization_id": org.pk},
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        raise_event("widget.made", organization_id=org.pk, widget_id=7, send=True)
        assert OutboxMessage.objects.count() == 1  # in the transaction...
        raise RuntimeError("rollback")
    assert OutboxMessage.objects.count() == 0  # ...and gone with it
    with transaction.atomic():
        raise_event("widget.made", organization_id=org.pk, widget_id=8, send=False)
    assert OutboxMessage.objects.count() == 0  # `when` said no


def test_handler_subscribers_run_after_commit_only(scratch, db, django_capture_on_commit_callbacks):
    seen = []
    register_event("widget.made", "test")
    subscribe("widget.made", handler=lambda event: seen.append(event), name="t.seen")
    subscribe("widget.made", handler=lambda event: 1 / 0, name="t.broken")
    with django_capture_on_commit_callbacks(execute=True):
        raise_event("widget.made", organization_id=3, widget_id=1)
        assert seen == []  # not before the commit
    # The broken subscriber is logged; it neither hides the others nor fails the caller.
    assert seen == [{"organization_id": 3, "widget_id": 1}]


def test_only_registered_types_can_be_attached(scratch, db):
    from api.v1.files.selectors import get_attachable_type

    assert get_attachable_type("orders.order") is not None
    assert get_attachable_type("exports.export") is None  # organization-scoped, not registered
    register_attachable("exports.export")
    assert get_attachable_type("exports.export") is not None


def test_restrict_reads_the_current_organization(org, other_org):
    from api.v1.catalog.products.models import Product
    from api.v1.catalog.products.tests.factories import ProductFactory

    mine, _theirs = ProductFactory(organization=org), ProductFactory(organization=other_org)
    with pytest.raises(RuntimeError, match="organization context"):
        Product.objects.restrict()
    with organization_scope(OrganizationContext(org.pk, org.slug, "owner", frozenset())):
        assert list(Product.objects.restrict()) == [mine]
