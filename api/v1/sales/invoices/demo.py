"""Demo data of the invoices module: the first order of each demo organization is invoiced."""

from api.v1.sales.orders.models import Order, OrderStatus

from .models import Invoice
from .services import create_invoice, issue_invoice


def load_demo(demo) -> None:
    for organization in demo.organizations.values():
        if Invoice.objects.filter(organization=organization).exists():
            continue
        orders = Order.objects.filter(organization=organization, status=OrderStatus.PLACED)
        for index, order in enumerate(orders.order_by("id")[:2]):
            invoice = create_invoice(organization_id=organization.pk, order_id=order.pk)
            if index == 0:  # one issued, one left as a draft
                issue_invoice(organization_id=organization.pk, invoice_id=invoice.pk)
