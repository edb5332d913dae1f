"""Invoices of an organization: one per order (until voided), numbered gap-free when issued."""

from django.db import models

from core.db.models import OrganizationScopedModel


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(OrganizationScopedModel):
    """An invoice for one order. Created and moved between statuses only through ``services``.

    ``number`` stays empty while the invoice is a draft; issuing takes the organization's next
    number (``numbering``). A voided invoice keeps its number, and the order may be invoiced again.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.RESTRICT, related_name="+")
    number = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="invoices_invoice_org_number_uniq"
            ),
            # At most one live (non-void) invoice per order, even under concurrent creates.
            models.UniqueConstraint(
                fields=["order"],
                condition=~models.Q(status="void"),
                name="invoices_invoice_one_live_per_order",
            ),
            # Drafts have no number; issued and paid ones do; a void one keeps whatever it had.
            models.CheckConstraint(
                condition=models.Q(status="draft", number__isnull=True)
                | models.Q(status__in=["issued", "paid"], number__isnull=False)
                | models.Q(status="void"),
                name="invoices_invoice_number_when_issued",
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="invoices_invoice_total_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="invoices_invoice_org_status")
        ]

    def __str__(self) -> str:
        return f"invoice {self.number or '(draft)'} ({self.status})"


class InvoiceLine(models.Model):
    """One line of an invoice, copied from its order when the invoice is created."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", on_delete=models.RESTRICT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id}"


class InvoiceNumberCounter(models.Model):
    """The last invoice number handed out in one organization (see ``numbering``)."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.BigIntegerField(default=0)

    # Not in the audit log (core.audit): internal bookkeeping; the invoice's record has its number.
    audit_log = False

    def __str__(self) -> str:
        return f"organization {self.organization_id}: {self.last_number}"
