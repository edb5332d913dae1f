from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api.filters import StrictOrderingFilter
from core.permissions.viewsets import OrganizationScopedViewSet

from . import services
from .models import Invoice, InvoiceLine, InvoiceStatus
from .permissions import Perm
from .serializers import InvoiceCreateSerializer, InvoiceSerializer

STATUS_PARAMETER = OpenApiParameter(
    "status", OpenApiTypes.STR, enum=list(InvoiceStatus.values), description="Only this status."
)


def _transition_view(transition: str, description: str):
    """The ``POST /invoices/<id>/<transition>/`` action calling ``services.<transition>_invoice``."""
    service = getattr(services, f"{transition}_invoice")

    def view(self, request, pk=None):
        invoice = self.get_object()  # 404 for other organizations' invoices
        invoice = service(organization_id=self.organization_id, invoice_id=invoice.pk)
        return Response(InvoiceSerializer(self._with_lines(invoice)).data)

    view.__name__ = view.__qualname__ = transition  # the action's name and URL name
    view = action(detail=True, methods=["post"])(view)
    return extend_schema(request=None, responses={200: InvoiceSerializer}, description=description)(
        view
    )


@extend_schema_view(list=extend_schema(parameters=[STATUS_PARAMETER]))
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """Invoices of the organization: create from an order, then issue, pay or void."""

    queryset = Invoice.objects.prefetch_related(
        Prefetch("lines", queryset=InvoiceLine.objects.order_by("id"))
    )
    serializer_class = InvoiceSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id", "number", "created_at", "issued_at", "total", "status"]
    ordering = ["id"]
    required_permissions = {
        "list": Perm.INVOICES_VIEW,
        "retrieve": Perm.INVOICES_VIEW,
        "create": Perm.INVOICES_CREATE,
        "issue": Perm.INVOICES_ISSUE,
        "pay": Perm.INVOICES_PAY,
        "void": Perm.INVOICES_VOID,
    }

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = self.request.query_params.get("status")
        if wanted is None or self.action != "list":
            return queryset
        if wanted not in InvoiceStatus.values:
            raise ValidationError(
                {"status": [f"'{wanted}' is not one of: {', '.join(InvoiceStatus.values)}."]}
            )
        return queryset.filter(status=wanted)

    @staticmethod
    def _with_lines(invoice):
        if "lines" not in getattr(invoice, "_prefetched_objects_cache", {}):
            invoice._prefetched_objects_cache = {"lines": list(invoice.lines.order_by("id"))}
        return invoice

    @extend_schema(request=InvoiceCreateSerializer, responses={201: InvoiceSerializer})
    def create(self, request, *args, **kwargs):
        payload = InvoiceCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        invoice = services.create_invoice(
            organization_id=self.organization_id, order_id=payload.validated_data["order"]
        )
        return Response(InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED)

    issue = _transition_view("issue", "draft → issued: takes the next gap-free number.")
    pay = _transition_view("pay", "issued → paid.")
    void = _transition_view("void", "draft or issued → void; the number is kept.")
