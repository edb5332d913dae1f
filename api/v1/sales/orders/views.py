from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.filters import StrictOrderingFilter
from core.api.lists import ListModelMixin
from core.permissions.viewsets import OrganizationScopedViewSet

from . import services
from .models import Order, OrderLine
from .permissions import Perm
from .serializers import OrderCreateSerializer, OrderSerializer


class OrderViewSet(ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    queryset = Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
    )
    serializer_class = OrderSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id", "created_at", "total", "status"]
    ordering = ["id"]
    required_permissions = {
        "list": Perm.ORDERS_VIEW,
        "retrieve": Perm.ORDERS_VIEW,
        "create": Perm.ORDERS_CREATE,
        "cancel": Perm.ORDERS_CANCEL,
    }

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request, *args, **kwargs):
        payload = OrderCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = services.place_order(
            organization_id=self.organization_id,
            user_id=request.user.pk,
            lines=[
                services.LineRequest(line["product"], line["quantity"])
                for line in payload.validated_data["lines"]
            ],
            metadata=payload.validated_data["metadata"],
        )
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()  # 404 for other organizations' orders
        order = services.cancel_order(organization_id=self.organization_id, order_id=order.pk)
        return Response(OrderSerializer(order).data)
