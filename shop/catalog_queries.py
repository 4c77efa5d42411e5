"""Catalogue queries shared by the storefront pages."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum

from .models import Category, Order, OrderLine, Product

SORTS: dict[str, tuple[str, list[str]]] = {
    "title": ("Name", ["title", "pk"]),
    "price": ("Price: low to high", ["price", "pk"]),
    "-price": ("Price: high to low", ["-price", "pk"]),
    "new": ("Newest", ["-created", "pk"]),
}
BESTSELLERS_CACHE_KEY = "shop:bestsellers"
BESTSELLERS_TTL = 600


def visible_products() -> QuerySet[Product]:
    return Product.objects.active().select_related("category")


def sorted_products(queryset: QuerySet[Product], sort: str) -> QuerySet[Product]:
    _, order_by = SORTS.get(sort, SORTS["title"])
    return queryset.order_by(*order_by)


def search_products(query: str) -> QuerySet[Product]:
    """Every word must match somewhere (title, brand, tags, category, description or SKU)."""
    queryset = visible_products()
    for word in query.split()[:8]:
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(brand__icontains=word)
            | Q(tags__icontains=word)
            | Q(category__name__icontains=word)
            | Q(description__icontains=word)
            | Q(sku__iexact=word)
        )
    return queryset


def categories_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(
        product_count=Count("products", filter=Q(products__active=True))
    ).filter(product_count__gt=0)


def new_arrivals(limit: int = 8, exclude: Iterable[int] = ()) -> list[Product]:
    return list(
        visible_products().exclude(pk__in=list(exclude)).order_by("-created", "-pk")[:limit]
    )


def bestsellers(limit: int = 8) -> list[Product]:
    """Most units sold, all time. Cached: it scans every order line, which is slow on a big import."""
    pks: list[int] | None = cache.get(BESTSELLERS_CACHE_KEY)
    if pks is None:
        pks = list(
            OrderLine.objects.filter(order__status=Order.Status.PAID, product__active=True)
            .values("product")
            .annotate(units=Sum("quantity"))
            .order_by("-units", "product")
            .values_list("product", flat=True)[: limit * 2]
        )
        cache.set(BESTSELLERS_CACHE_KEY, pks, BESTSELLERS_TTL)
    products = visible_products().in_bulk(pks)
    return [products[pk] for pk in pks if pk in products][:limit]
