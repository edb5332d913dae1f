"""Per-organization invoice numbers 1, 2, 3, ...: gap-free under concurrency and rollbacks."""

from core.db.counters import take_next_number

from .models import InvoiceNumberCounter


def next_invoice_number(organization_id: int) -> int:
    """Take the next number. Call as late as possible inside the issuing transaction: the
    counter row stays locked until it commits, and a rollback gives the number back."""
    return take_next_number(InvoiceNumberCounter, organization_id)
