from django.apps import AppConfig


class ProductsConfig(AppConfig):
    name = "api.v1.catalog.products"
    label = "products"
    verbose_name = "Products"

    def ready(self) -> None:
        from core.registry import (
            register_attachable,
            register_demo_data,
            register_export_source,
            register_permissions,
            register_route,
        )

        from .models import Product
        from .permissions import GRANTS

        register_permissions(GRANTS)
        register_route("products", f"{self.name}.views.ProductViewSet", basename="product")
        register_export_source(
            "products",
            label="Products",
            serializer_class=f"{self.name}.serializers.ProductSerializer",
            queryset=lambda organization_id: Product.objects.filter(
                organization_id=organization_id
            ).order_by("id"),
        )
        register_attachable("products.product")
        register_demo_data("products", f"{self.name}.demo.load_demo")
