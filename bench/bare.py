"""The benchmark's baseline: a bare DRF list over the products table.

A plain ``ListAPIView`` with a default ``ModelSerializer`` and page-number pagination, no
authentication, no tenancy scoping, DRF's stock JSON renderer. Served only when
``BENCH_ENDPOINTS=true``.
"""

from django.urls import path
from rest_framework import generics, pagination, renderers, serializers

from api.v1.catalog.products.models import Product


class BareProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = "__all__"


class BarePagination(pagination.PageNumberPagination):
    page_size = 50


class BareProductList(generics.ListAPIView):
    queryset = Product.objects.order_by("id")
    serializer_class = BareProductSerializer
    pagination_class = BarePagination
    authentication_classes = []
    permission_classes = []
    renderer_classes = [renderers.JSONRenderer]


urlpatterns = [path("bench/bare-products/", BareProductList.as_view())]
