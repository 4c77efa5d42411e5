"""Hand-built events and segments for the segment tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from recommendations.models import Event, EventKind, MatchMode, Segment, SegmentCondition
from shop.models import Category, Product

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class Catalogue:
    kitchen: list[Product]
    garden: list[Product]


def make_catalogue() -> Catalogue:
    """Kitchen and Garden, three products each."""
    kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
    garden = Category.objects.create(name="Garden", slug="garden")

    def product(i: int, category: Category) -> Product:
        return Product.objects.create(
            sku=f"{category.slug}-{i}",
            title=f"{category.name} thing {i}",
            category=category,
            price=Decimal("10.00"),
            stock=5,
        )

    return Catalogue(
        kitchen=[product(i, kitchen) for i in range(3)],
        garden=[product(i, garden) for i in range(3)],
    )


def event(
    who: str | int,
    kind: EventKind,
    item: Product | str,
    ago: timedelta,
    *,
    now: datetime | None = None,
    **fields: Any,
) -> Event:
    """An event of visitor ``who`` (text) or user ``who`` (int), ``ago`` before ``now``."""
    user_id = who if isinstance(who, int) else None
    visitor = f"browser-of-{who}" if isinstance(who, int) else who
    return Event.objects.create(
        visitor_id=visitor,
        user_id=user_id,
        item_id=str(item.pk) if isinstance(item, Product) else item,
        kind=kind,
        ts=(now or timezone.now()) - ago,
        **fields,
    )


def purchase(who: str | int, item: Product, order: int, ago: timedelta, *, quantity: float = 1,
             price: str = "10.00", now: datetime | None = None) -> Event:  # fmt: skip
    """A purchase event as the store's ``order_placed`` records one line of an order."""
    return event(
        who,
        EventKind.PURCHASE,
        item,
        ago,
        now=now,
        value=quantity,
        context={"order": order, "price": price},
    )


def segment(*conditions: dict[str, Any], match: str = MatchMode.ALL, key: str = "s") -> Segment:
    created = Segment.objects.create(key=key, name=key.title(), match=match)
    for fields in conditions:
        SegmentCondition.objects.create(segment=created, **fields)
    return created
