"""The store's catalogue adapter for the recommendations app."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse

from recommendations.catalog import ItemInfo, ModelCatalog

from .cart import SESSION_KEY
from .models import Category, Order, Product

_SERVING_FIELDS = ("pk", "title", "category__name", "brand", "price", "stock", "active")


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

    def fallback_ids(self, limit: int, category: str | None = None) -> list[str]:
        """Newest sellable products, from the category first when one is given."""
        products = Product.objects.active().filter(stock__gt=0).order_by("-created", "-pk")
        keys: list[str] = []
        if category:
            keys = [
                str(pk)
                for pk in products.filter(category__name=category).values_list("pk", flat=True)[
                    :limit
                ]
            ]
        keys += [
            str(pk) for pk in products.values_list("pk", flat=True)[:limit] if str(pk) not in keys
        ]
        return keys[:limit]

    def describe(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        """One flat query without descriptions: this runs on every recommendation request."""
        # isdigit() accepts "²", which int() refuses, and int() reads "٣" as 3: only ASCII digits
        # can be one of our keys, and no more than 18 of them (a 64-bit column; a longer number
        # makes the database driver raise OverflowError).
        pks = [int(i) for i in item_ids if i.isascii() and i.isdecimal() and len(i) <= 18]
        if not pks:
            return {}
        rows = Product.objects.filter(pk__in=pks).values_list(*_SERVING_FIELDS)
        url = reverse("shop:product_detail", kwargs={"pk": 0}).removesuffix("0/")
        return {
            str(pk): ItemInfo(
                item_id=str(pk),
                title=title,
                category=category,
                brand=brand,
                price=price,
                in_stock=stock > 0,
                active=active,
                url=f"{url}{pk}/",
            )
            for pk, title, category, brand, price, stock, active in rows
        }

    def categories(self) -> list[str]:
        """Every category, with products or not yet: a rule may be ready before its products."""
        return list(Category.objects.order_by("name").values_list("name", flat=True))

    def search_condition(self, term: str) -> Q:
        """The merchant's SKU finds a product too (``sku`` is what staff know it by)."""
        return super().search_condition(term) | Q(sku__iexact=term)

    def cart_item_ids(self, request: HttpRequest) -> tuple[str, ...]:
        session = getattr(request, "session", None)
        if session is None:
            return ()
        return tuple(str(pk) for pk in (session.get(SESSION_KEY) or {}))

    def excluded_orders(self) -> set[str]:
        """Cancelled and refunded orders (the customer did not keep what they bought, so those
        purchases say little about taste), besides the app's own (orders confirmed as fraud).
        Purchase events carry the order's pk as ``context["order"]``."""
        kept_out = Order.objects.filter(status__in=Order.NOT_KEPT).values_list("pk", flat=True)
        return super().excluded_orders() | {str(pk) for pk in kept_out}

    def order_labels(self, order_ids: Iterable[str]) -> dict[str, str]:
        """Order numbers by pk (as text), for the risk review queue."""
        pks = [int(i) for i in order_ids if i.isascii() and i.isdecimal() and len(i) <= 18]
        rows = Order.objects.filter(pk__in=pks).values_list("pk", "number")
        return {str(pk): number for pk, number in rows}

    def stock_levels(self, item_ids: Iterable[str]) -> dict[str, int | None]:
        """Units on the shelf by pk (as text): the shop counts every product's stock."""
        pks = [int(i) for i in item_ids if i.isascii() and i.isdecimal() and len(i) <= 18]
        rows = Product.objects.filter(pk__in=pks).values_list("pk", "stock")
        return {str(pk): stock for pk, stock in rows}

    def set_price(self, item_id: str, price: Decimal) -> None:
        """Save the accepted price on the product (``save()``, so that the catalogue-change
        signal tells serving processes)."""
        if not (item_id.isascii() and item_id.isdecimal() and len(item_id) <= 18):
            raise Product.DoesNotExist(f"no product {item_id!r}")
        product = Product.objects.get(pk=int(item_id))
        product.price = price
        product.save(update_fields=["price"])

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
