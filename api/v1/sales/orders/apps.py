from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "api.v1.sales.orders"
    label = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from django.db.models import Prefetch

        from core.events import register_event, subscribe
        from core.registry import (
            register_attachable,
            register_demo_data,
            register_export_source,
            register_permissions,
            register_route,
        )

        from .models import Order, OrderLine
        from .permissions import GRANTS

        register_permissions(GRANTS)
        register_route("orders", f"{self.name}.views.OrderViewSet", basename="order")
        register_export_source(
            "orders",
            label="Orders",
            serializer_class=f"{self.name}.serializers.OrderSerializer",
            queryset=lambda organization_id: (
                Order.objects.filter(organization_id=organization_id)
                .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
                .order_by("id")
            ),
        )
        register_attachable("orders.order")
        register_event("order.placed", "An order was stored. Payload: order_id, organization_id.")
        register_event(
            "order.cancelled", "An order was cancelled. Payload: order_id, organization_id."
        )
        # The confirmation e-mail is a reaction to the order, not part of placing it.
        subscribe("order.placed", task=f"{self.name}.tasks.send_order_confirmation")
        register_demo_data("orders", f"{self.name}.demo.load_demo")
