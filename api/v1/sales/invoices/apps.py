from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    """Invoices: built only through the platform (core.registry, core.events); nothing outside
    this folder knows the module exists except its line in INSTALLED_APPS."""

    name = "api.v1.sales.invoices"
    label = "invoices"
    verbose_name = "Invoices"

    def ready(self) -> None:
        from django.db.models import signals

        from api.v1.sales.orders.models import Order
        from core.events import register_event, subscribe
        from core.registry import (
            register_attachable,
            register_demo_data,
            register_export_source,
            register_permissions,
            register_route,
        )

        from .demo import load_demo
        from .models import Invoice
        from .permissions import GRANTS
        from .serializers import InvoiceExportSerializer
        from .signals import refuse_cancelling_an_invoiced_order
        from .tasks import send_invoice_email
        from .views import InvoiceViewSet

        register_permissions(GRANTS)
        register_route("invoices", InvoiceViewSet, basename="invoice")
        register_export_source(
            "invoices",
            label="Invoices",
            serializer_class=InvoiceExportSerializer,
            queryset=lambda organization_id: Invoice.objects.filter(
                organization_id=organization_id
            ).order_by("id"),
        )
        register_attachable("invoices.invoice")
        register_event(
            "invoice.issued", "An invoice was issued. Payload: invoice_id, organization_id."
        )
        subscribe("invoice.issued", task=send_invoice_email)
        register_demo_data("invoices", load_demo)
        signals.pre_save.connect(
            refuse_cancelling_an_invoiced_order,
            sender=Order,
            dispatch_uid="invoices.refuse_cancelling_an_invoiced_order",
        )
