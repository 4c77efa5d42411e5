"""The store's catalogue adapter for the recommendations app."""

from __future__ import annotations

from django.db.models import QuerySet

from recommendations.catalog import ItemInfo, ModelCatalog

from .models import Product


class ShopCatalog(ModelCatalog):
    """Describes products with their category, brand, stock and visibility, so that the app can
    filter out hidden or sold-out items and explain recommendations by category or brand."""

    @property
    def model(self) -> type[Product]:
        return Product

    @property
    def key_field(self) -> str:
        return "pk"

    def get_queryset(self) -> QuerySet[Product]:
        return Product.objects.select_related("category")

    def to_info(self, obj: Product) -> ItemInfo:
        return ItemInfo(
            item_id=str(obj.pk),
            title=obj.title,
            description=obj.description,
            category=obj.category.name,
            brand=obj.brand,
            price=obj.price,
            in_stock=obj.stock > 0,
            active=obj.active,
            url=obj.get_absolute_url(),
        )
