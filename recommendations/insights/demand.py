"""Daily demand per product, from the stored events.

Purchases (their quantity) are what is forecast; views and add-to-carts come before purchases
and are kept beside them, so a merchandiser sees interest rising before sales do, and price
suggestions can compare how often a product's views turn into purchases. The average price
paid each day comes from the purchase events' ``context["price"]`` and feeds the elasticity.

The nightly job rewrites the window's :class:`~recommendations.models.DemandDay` rows whole
(events are insert-only, but orders refunded since may drop out), and admin reads those rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.models import DemandDay, Event, EventKind

#: Rows written per query.
BATCH = 2000


@dataclass
class _Day:
    units: float = 0.0
    orders: int = 0
    views: int = 0
    carts: int = 0
    paid: float = 0.0


@dataclass(frozen=True)
class History:
    """One product's daily rows from its first day with any behaviour to ``end``, oldest first."""

    start: date
    units: np.ndarray
    orders: np.ndarray
    views: np.ndarray
    carts: np.ndarray
    #: Average price paid each day, ``nan`` on days without a purchase.
    prices: np.ndarray = field(repr=False)

    @property
    def days(self) -> int:
        return len(self.units)

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def _price(value: object) -> float | None:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return float(price) if price.is_finite() and price > 0 else None


def collect(start: date, end: date) -> dict[str, dict[date, _Day]]:
    """Units, orders, views and add-to-carts per product and (local) day from the events of
    ``start`` to ``end`` inclusive, without the purchases of orders the store excludes
    (refunded, cancelled, confirmed fraud)."""
    first, after = _bounds(start, end)
    events = Event.objects.filter(ts__gte=first, ts__lt=after).exclude(item_id="")
    days: dict[str, dict[date, _Day]] = defaultdict(lambda: defaultdict(_Day))
    counted = (
        events.filter(kind__in=[EventKind.VIEW, EventKind.ADD_TO_CART])
        .annotate(day=TruncDate("ts"))
        .values_list("item_id", "day", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    for item_id, day, kind, n in counted:
        if kind == EventKind.VIEW:
            days[item_id][day].views += n
        else:
            days[item_id][day].carts += n
    excluded = get_catalog().excluded_orders()
    purchases = (
        events.filter(kind=EventKind.PURCHASE)
        .order_by()
        .values_list("item_id", "ts", "value", "context__order", "context__price")
    )
    for item_id, ts, value, order, price in purchases.iterator(chunk_size=BATCH):
        if order is not None and str(order) in excluded:
            continue
        units = float(value) if value and value > 0 else 1.0
        row = days[item_id][timezone.localtime(ts).date()]
        row.units += units
        row.orders += 1
        paid = _price(price)
        if paid is not None:
            row.paid += paid * units
    return days


def store_daily(start: date, end: date) -> int:
    """Rewrite the :class:`DemandDay` rows of ``start`` to ``end``; the number written."""
    rows = [
        DemandDay(
            item_id=item_id[:64],
            day=day,
            units=counts.units,
            orders=counts.orders,
            views=counts.views,
            carts=counts.carts,
            price=(
                Decimal(counts.paid / counts.units).quantize(Decimal("0.01"))
                if counts.paid and counts.units
                else None
            ),
        )
        for item_id, by_day in collect(start, end).items()
        for day, counts in by_day.items()
    ]
    with transaction.atomic():
        DemandDay.objects.filter(day__gte=start, day__lte=end).delete()
        DemandDay.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def histories(item_ids: Iterable[str], start: date, end: date) -> dict[str, History]:
    """Each product's stored daily rows from its first day with behaviour (not before
    ``start``) to ``end``, missing days as zero; products without rows are left out."""
    wanted = set(item_ids)
    rows: dict[str, list[tuple[date, float, int, int, int, Decimal | None]]] = defaultdict(list)
    stored = (
        DemandDay.objects.filter(day__gte=start, day__lte=end, item_id__in=wanted)
        .order_by("item_id", "day")
        .values_list("item_id", "day", "units", "orders", "views", "carts", "price")
    )
    for item_id, *row in stored.iterator(chunk_size=BATCH):
        rows[item_id].append(tuple(row))  # type: ignore[arg-type]
    found: dict[str, History] = {}
    for item_id, entries in rows.items():
        first = entries[0][0]
        length = (end - first).days + 1
        units, prices = np.zeros(length), np.full(length, np.nan)
        orders, views, carts = (np.zeros(length, dtype=np.int64) for _ in range(3))
        for day, day_units, day_orders, day_views, day_carts, price in entries:
            index = (day - first).days
            units[index], orders[index] = day_units, day_orders
            views[index], carts[index] = day_views, day_carts
            if price is not None:
                prices[index] = float(price)
        found[item_id] = History(first, units, orders, views, carts, prices)
    return found
