from django.conf import settings
from django.db import models

from core.db.counters import ReturningBigIntegerField
from core.db.models import OrganizationScopedModel


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    CANCELLED = "cancelled", "Cancelled"


class Order(OrganizationScopedModel):
    """A customer order. Created and cancelled only through ``services`` (stock moves with it)."""

    # Human-facing number, 1, 2, 3... per organization, allocated by ``numbering`` when the order
    # is placed. Added in two phases (nullable, backfilled, then NOT NULL): migrations 0003-0006.
    # Read back by INSERT ... RETURNING: place_order has the database compute it in the INSERT.
    number = ReturningBigIntegerField()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="orders_order_total_gte_0"
            ),
            models.UniqueConstraint(
                fields=["organization", "number"], name="orders_order_org_number_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="orders_order_org_created_idx")
        ]

    def __str__(self) -> str:
        return f"order {self.number} ({self.status})"


class OrderNumberCounter(models.Model):
    """The last order number handed out in one organization.

    ``numbering`` increments it with one ``INSERT ... ON CONFLICT DO UPDATE`` (core.db.counters),
    whose row lock is held until the placing transaction ends: concurrent orders of the same
    organization get distinct, gap-free numbers; other organizations are not blocked.
    """

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.BigIntegerField(default=0)

    # Not in the audit log (core.audit): internal bookkeeping; the order's record has its number.
    audit_log = False

    def __str__(self) -> str:
        return f"organization {self.organization_id}: {self.last_number}"


class OrderLine(models.Model):
    """One product line of an order, with the unit price at the time it was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # RESTRICT (not PROTECT): a product on an order can't be deleted on its own, but deleting the
    # whole organization (which cascades to both) still works.
    product = models.ForeignKey("products.Product", on_delete=models.RESTRICT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orders_orderline_quantity_gte_1"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="orders_orderline_unit_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"
