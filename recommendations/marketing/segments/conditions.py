"""One evaluator per condition kind: aggregate queries over ``Event``, answering who meets the
condition now and why.

Every evaluator takes ``(condition, now, among)`` and returns ``{member: reason}``; ``among``
limits the answer to those members (the incremental update asks about the few visitors who did
something or crossed a time threshold), ``None`` asks about everyone. The reason is one sentence
a marketer reads in the member list and a receiver of ``segment_entered`` can pass on.

Orders are the distinct ``context["order"]`` of purchase events (of orders the adapter does not
exclude); revenue is quantity (``value``) times ``context["price"]``. Item categories come from the catalogue adapter, never from events.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, Count, FloatField, Max, Q, QuerySet, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models import ConditionKind, Event, EventKind, SegmentCondition
from recommendations.stores import get_store

from .members import VISITOR_PREFIX, events_of, per_member, split_members

Reasons = dict[str, str]
Evaluator = Callable[[SegmentCondition, datetime, Collection[str] | None], Reasons]

#: For-you lists read per round trip.
LIST_CHUNK = 1000


def evaluate(condition: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """Who meets ``condition`` at ``now`` (of ``among``, or of everyone), with why."""
    if among is not None and not among:
        return {}
    return EVALUATORS[ConditionKind(condition.kind)](condition, now, among)


def viewed_category(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """At least N views of category C's items in D days, and no purchase from C in them."""
    window = timedelta(days=c.days or 0)
    recent = events_of(among).filter(ts__gt=now - window, ts__lte=now)
    items = category_items(c.category, recent.filter(kind=EventKind.VIEW))
    rows = per_member(
        recent.filter(kind__in=[EventKind.VIEW, EventKind.PURCHASE], item_id__in=items),
        views=Count("pk", filter=Q(kind=EventKind.VIEW)),
        bought=Count("pk", filter=Q(kind=EventKind.PURCHASE)),
    )
    need = c.count or 1
    return {
        member: f"Viewed {c.category} {times(row['views'])} in the last {span(window)} "
        "and bought nothing from it."
        for member, row in rows
        if row["views"] >= need and not row["bought"]
    }


def cart_abandoned(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """The latest add-to-cart is at least H hours old and no order came after it (within the
    last D days when D is set)."""
    wait = timedelta(hours=c.hours or 0)
    events = events_of(among).filter(
        kind__in=[EventKind.ADD_TO_CART, EventKind.PURCHASE], ts__lte=now
    )
    if c.days:
        events = events.filter(ts__gt=now - timedelta(days=c.days))
    rows = per_member(
        events,
        added=Max("ts", filter=Q(kind=EventKind.ADD_TO_CART)),
        ordered=Max("ts", filter=Q(kind=EventKind.PURCHASE)),
    )
    return {
        member: f"Added to cart {span(now - row['added'])} ago ({moment(row['added'])}) and "
        f"placed no order within {span(wait)}."
        for member, row in rows
        if row["added"] is not None
        and row["added"] <= now - wait
        and (row["ordered"] is None or row["ordered"] < row["added"])
    }


def lapsed_buyer(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """At least K orders ever, the latest more than D days ago."""
    lapse = timedelta(days=c.days or 0)
    rows = per_member(
        kept(events_of(among).filter(kind=EventKind.PURCHASE, ts__lte=now)),
        orders=Count(KT("context__order"), distinct=True),
        last=Max("ts"),
    )
    need = c.orders or 1
    return {
        member: f"Placed {plural(row['orders'], 'order')}, the last {span(now - row['last'])} ago "
        f"({moment(row['last'])}): none in the last {span(lapse)}."
        for member, row in rows
        if row["orders"] >= need and row["last"] <= now - lapse
    }


def high_value(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """The top P % of buyers by revenue in D days (ties at the cut-off are all in).

    The cut-off is taken over every buyer even when ``among`` is given: whether one member is in
    the top depends on everyone else.
    """
    window = timedelta(days=c.days or 0)
    line_revenue = Coalesce("value", Value(1.0)) * Cast(KT("context__price"), FloatField())
    rows = per_member(
        kept(
            Event.objects.order_by().filter(
                kind=EventKind.PURCHASE, ts__gt=now - window, ts__lte=now
            )
        ),
        revenue=Sum(line_revenue, output_field=FloatField()),
    )
    revenue = {member: row["revenue"] for member, row in rows if (row["revenue"] or 0) > 0}
    if not revenue:
        return {}
    ranked = sorted(revenue.values(), reverse=True)
    top = max(1, math.ceil(len(ranked) * (c.percent or 0) / 100))
    cut_off = ranked[top - 1]
    wanted = revenue.keys() if among is None else set(among) & revenue.keys()
    currency = f"{app_settings.CURRENCY} " if app_settings.CURRENCY else ""
    return {
        member: f"Spent {currency}{revenue[member]:,.2f} in the last {span(window)}, in the top "
        f"{number(c.percent or 0)} % of {plural(len(ranked), 'buyer')} "
        f"(from {currency}{cut_off:,.2f})."
        for member in wanted
        if revenue[member] >= cut_off
    }


def viewed_item(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """Viewed item X at least once in D days."""
    window = timedelta(days=c.days or 0)
    rows = per_member(
        events_of(among).filter(
            kind=EventKind.VIEW, item_id=c.item_id, ts__gt=now - window, ts__lte=now
        ),
        views=Count("pk"),
    )
    title = item_title(c.item_id)
    return {
        member: f"Viewed {title} {times(row['views'])} in the last {span(window)}."
        for member, row in rows
    }


def for_you_category(c: SegmentCondition, now: datetime, among: Collection[str] | None) -> Reasons:
    """The member's stored for-you list starts with an item of category C.

    Only signed-in users have a stored for-you list (``user:<id>``, written from the active
    model): serving folds a visitor's list in from their recent items on each request, so a
    visitor never meets this condition.
    """
    store = get_store()
    if among is None:
        keys = [key for key in store.keys("user:") if key[5:].isascii() and key[5:].isdecimal()]
    else:
        keys = [f"user:{user}" for user in split_members(among)[0]]
    leaders: dict[str, str] = {}
    for start in range(0, len(keys), LIST_CHUNK):
        lists = store.get_many(keys[start : start + LIST_CHUNK])
        leaders |= {key[5:]: items[0][0] for key, items in lists.items() if items}
    infos = get_catalog().describe(set(leaders.values()))
    wanted = c.category.casefold()
    return {
        member: f'Their for-you list is led by "{infos[item].title}" ({infos[item].category}).'
        for member, item in leaders.items()
        if item in infos and infos[item].category.casefold() == wanted
    }


EVALUATORS: dict[ConditionKind, Evaluator] = {
    ConditionKind.VIEWED_CATEGORY: viewed_category,
    ConditionKind.CART_ABANDONED: cart_abandoned,
    ConditionKind.LAPSED_BUYER: lapsed_buyer,
    ConditionKind.HIGH_VALUE: high_value,
    ConditionKind.VIEWED_ITEM: viewed_item,
    ConditionKind.FOR_YOU_CATEGORY: for_you_category,
}


@dataclass(frozen=True)
class Threshold:
    """Events of ``kinds`` that make a member enter or leave ``after`` their time, with no new
    event: a cart becomes abandoned H hours after it was filled, a buyer lapses D days after the
    last order, a view stops counting once D days old."""

    kinds: tuple[int, ...]
    after: timedelta


def thresholds(c: SegmentCondition) -> list[Threshold]:
    """The time thresholds of ``c`` that the incremental update must watch."""
    kind = ConditionKind(c.kind)
    days = timedelta(days=c.days) if c.days else None
    if kind == ConditionKind.CART_ABANDONED:
        watched = (EventKind.ADD_TO_CART, EventKind.PURCHASE)
        found = [Threshold(watched, timedelta(hours=c.hours or 0))]
        return found + ([Threshold(watched, days)] if days else [])
    if days is None:
        return []
    return [Threshold(tuple(event_kinds(c)), days)]


def event_kinds(c: SegmentCondition) -> set[int]:
    """The kinds of events that can change whether a member meets ``c``."""
    kinds: dict[ConditionKind, set[int]] = {
        ConditionKind.VIEWED_CATEGORY: {EventKind.VIEW, EventKind.PURCHASE},
        ConditionKind.CART_ABANDONED: {EventKind.ADD_TO_CART, EventKind.PURCHASE},
        ConditionKind.LAPSED_BUYER: {EventKind.PURCHASE},
        ConditionKind.HIGH_VALUE: {EventKind.PURCHASE},
        ConditionKind.VIEWED_ITEM: {EventKind.VIEW},
        ConditionKind.FOR_YOU_CATEGORY: set(),
    }
    return kinds[ConditionKind(c.kind)]


# --- The catalogue --------------------------------------------------------------------------


def kept(purchases: QuerySet[Event]) -> QuerySet[Event]:
    """``purchases`` without those of orders the adapter excludes (cancelled, refunded, confirmed
    fraud): an order the customer did not keep neither counts nor earns revenue."""
    skip = get_catalog().excluded_orders()
    if not skip:
        return purchases
    return purchases.alias(recommendations_order=KT("context__order")).exclude(
        recommendations_order__in=sorted(skip)
    )


def category_items(category: str, views: QuerySet[Event]) -> Any:
    """Item ids of ``category`` (without regard to case), to filter events with ``item_id__in``.

    A subquery on the product model when the adapter maps the category to a field (one query
    for the whole condition); otherwise the catalogue describes the items viewed in the window.
    """
    catalog = get_catalog()
    lookup = catalog.product_fields.lookups.get("category")
    if lookup:
        return (
            catalog.get_queryset()
            .order_by()
            .filter(**{f"{lookup}__iexact": category})
            .annotate(recommendations_key=Cast(catalog.key_field, CharField()))
            .values("recommendations_key")
        )
    viewed = set(views.values_list("item_id", flat=True).distinct())
    wanted = category.casefold()
    return [i for i, info in catalog.describe(viewed).items() if info.category.casefold() == wanted]


def item_title(item_id: str) -> str:
    info = get_catalog().describe([item_id]).get(item_id)
    return f'"{info.title}"' if info else f"item {item_id}"


# --- Sentences ------------------------------------------------------------------------------

_UNITS = (("day", 86_400.0), ("hour", 3_600.0), ("minute", 60.0), ("second", 1.0))


def span(duration: timedelta) -> str:
    """``7 days``, ``1.5 hours``, ``36 seconds``: the largest unit that is at least one."""
    seconds = max(duration.total_seconds(), 0.0)
    for unit, size in _UNITS:
        if seconds >= size or unit == "second":
            return plural(round(seconds / size, 1), unit)
    raise AssertionError("unreachable")


def plural(count: float, noun: str) -> str:
    return f"{number(count)} {noun}{'' if count == 1 else 's'}"


def number(value: float) -> str:
    """``3``, ``1.5``, ``0.01``: no trailing zeros, no exponent."""
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"


def moment(when: datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")


__all__ = ["EVALUATORS", "VISITOR_PREFIX", "evaluate", "event_kinds", "thresholds"]
