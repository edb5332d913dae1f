from django.conf import settings
from django.db import models

from core.db.models import OrganizationScopedModel


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    CANCELLED = "cancelled", "Cancelled"


class Order(OrganizationScopedModel):
    """A customer order. Created and cancelled only through ``services`` (stock moves with it)."""

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
        ]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


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
