from django.contrib.postgres.indexes import GinIndex
from django.db import models

from core.api.caching import OrganizationResponseCacheQuerySet, ResponseCacheScope
from core.db.models import OrganizationScopedModel

# Cached product list/detail responses; every write to a product bumps its organization's
# generation (saves, deletes, and bulk update()/bulk_update() from the order services).
PRODUCT_RESPONSES = ResponseCacheScope("products")


class ProductQuerySet(OrganizationResponseCacheQuerySet):
    response_cache_scope = PRODUCT_RESPONSES


class Product(OrganizationScopedModel):
    """A sellable item of one organization. ``custom_fields`` is free-form JSONB (GIN-indexed)."""

    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    stock = models.IntegerField(default=0)
    custom_fields = models.JSONField(default=dict, blank=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sku"], name="products_product_org_sku_uniq"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="products_product_price_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="products_product_stock_gte_0"
            ),
        ]
        indexes = [
            GinIndex(fields=["custom_fields"], name="products_custom_fields_gin"),
            # The list's page (ORDER BY id LIMIT n within an organization) and its COUNT(*).
            models.Index(fields=["organization", "id"], name="products_org_id_idx"),
        ]

    def __str__(self) -> str:
        return self.sku
