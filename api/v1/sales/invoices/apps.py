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
            Ref,
            register_attachable,
            register_demo_data,
            register_export_source,
            register_permissions,
            register_route,
        )

        from .models import Invoice
        from .permissions import GRANTS

        register_permissions(GRANTS)
        register_route("invoices", f"{self.name}.views.InvoiceViewSet", basename="invoice")
        register_export_source(
            "invoices",
            label="Invoices",
            serializer_class=f"{self.name}.serializers.InvoiceExportSerializer",
            queryset=lambda organization_id: Invoice.objects.filter(
                organization_id=organization_id
            ).order_by("id"),
        )
        register_attachable("invoices.invoice")
        register_event(
            "invoice.issued", "An invoice was issued. Payload: invoice_id, organization_id."
        )
        subscribe("invoice.issued", task=f"{self.name}.tasks.send_invoice_email")
        register_demo_data("invoices", f"{self.name}.demo.load_demo")
        signals.pre_save.connect(
            # Imported at the first order save (it needs this module's services).
            Ref(f"{self.name}.signals.refuse_cancelling_an_invoiced_order"),
            sender=Order,
            weak=False,
            dispatch_uid="invoices.refuse_cancelling_an_invoiced_order",
        )
