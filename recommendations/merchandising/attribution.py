"""What recommendations earned: impressions, clicks and purchases per slot and source.

Slots render an attribution token (``<slot>.<sources>.<random>``) that the beacon sends back with
impressions and clicks. A purchase is credited to a click when the same visitor (or user) bought
the clicked item within ``ATTRIBUTION_WINDOW_HOURS`` after the click; each purchase is credited
once, to the latest such click.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from recommendations.conf import app_settings
from recommendations.models import Event, EventKind


@dataclass
class Performance:
    """What one slot, source or item earned in a date range.

    Add-to-carts and purchases are credited like purchases always were: to the latest click on
    the same item by the same visitor (or user) within ``ATTRIBUTION_WINDOW_HOURS`` before them.
    """

    slot: str = ""
    source: str = ""
    item_id: str = ""
    rule_id: int | None = None
    impressions: int = 0
    clicks: int = 0
    add_to_carts: int = 0
    purchases: int = 0
    revenue: Decimal = Decimal("0")
    items_shown: set[str] = field(default_factory=set, repr=False)

    @property
    def ctr(self) -> float:
        """Clicks per impression (0 to 1; admin shows it as a percentage)."""
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def add_to_cart_rate(self) -> float:
        """Clicked items added to the cart afterwards, per click."""
        return self.add_to_carts / self.clicks if self.clicks else 0.0

    @property
    def conversion(self) -> float:
        """Clicked items bought afterwards, per click."""
        return self.purchases / self.clicks if self.clicks else 0.0


#: What a click is credited to: its slot, its list's sources, the rules that placed the item.
Credit = tuple[str, str, str]

#: The name older callers use; every row is a :class:`Performance`.
SlotPerformance = Performance


@dataclass
class Report:
    """Performance in [since, until): per (slot, source), per slot, per clicked or shown item."""

    since: datetime
    until: datetime
    by_source: list[Performance]
    by_slot: list[Performance]
    by_item: list[Performance]
    #: Per merchandising rule that placed or moved an item (``context["rules"]`` of impressions
    #: and clicks, sent by ``beacon.js`` from the slot's ``data-rec-rules``).
    by_rule: list[Performance] = field(default_factory=list)
    #: Distinct items shown, and the catalogue's size when the adapter can count it.
    items_shown: int = 0
    catalogue_size: int | None = None

    @property
    def coverage(self) -> float | None:
        """Share of the catalogue that appeared in any list."""
        if not self.catalogue_size:
            return None
        return min(self.items_shown / self.catalogue_size, 1.0)


def parse_token(token: object) -> tuple[str, str] | None:
    """``(slot, sources)`` of an attribution token; anything after the random part is ignored."""
    if not isinstance(token, str) or token.count(".") < 2:
        return None
    slot, source, _ = token.split(".", 2)
    return slot, source


def slot_performance(since: datetime, until: datetime) -> list[Performance]:
    """Per (slot, source): impressions and clicks in [since, until), what they led to."""
    return performance_report(since, until).by_source


def performance_report(
    since: datetime, until: datetime, *, catalogue_size: int | None = None
) -> Report:
    """Every row of the performance page from the events of [since, until) (and, for what a
    click led to, the attribution window after ``until``)."""
    by_source: dict[tuple[str, str], Performance] = {}
    by_slot: dict[str, Performance] = {}
    by_item: dict[str, Performance] = {}

    by_rule: dict[int, Performance] = {}

    def rows(key: Credit, item_id: str) -> list[Performance]:
        slot, source, rules = key
        if (slot, source) not in by_source:
            by_source[(slot, source)] = Performance(slot=slot, source=source)
        if slot not in by_slot:
            by_slot[slot] = Performance(slot=slot)
        if item_id not in by_item:
            by_item[item_id] = Performance(item_id=item_id)
        found = [by_source[(slot, source)], by_slot[slot], by_item[item_id]]
        for rule_id in _rule_ids(rules):
            if rule_id not in by_rule:
                by_rule[rule_id] = Performance(slot=slot, rule_id=rule_id)
            found.append(by_rule[rule_id])
        return found

    in_window = Event.objects.filter(ts__gte=since, ts__lt=until)
    shown: set[str] = set()
    for token, rules, item_id in in_window.filter(kind=EventKind.IMPRESSION).values_list(
        "context__token", "context__rules", "item_id"
    ):
        if (parsed := parse_token(token)) is not None:
            for row in rows((*parsed, _text(rules)), item_id):
                row.impressions += 1
                row.items_shown.add(item_id)
            shown.add(item_id)

    clicks: dict[tuple[str, str], list[tuple[datetime, Credit]]] = defaultdict(list)
    for token, rules, visitor_id, user_id, item_id, ts in in_window.filter(
        kind=EventKind.CLICK
    ).values_list("context__token", "context__rules", "visitor_id", "user_id", "item_id", "ts"):
        if (parsed := parse_token(token)) is not None:
            key: Credit = (*parsed, _text(rules))
            for row in rows(key, item_id):
                row.clicks += 1
            clicks[(f"v:{visitor_id}", item_id)].append((ts, key))
            if user_id is not None:
                clicks[(f"u:{user_id}", item_id)].append((ts, key))
    for history in clicks.values():
        history.sort()

    window = timedelta(hours=app_settings.ATTRIBUTION_WINDOW_HOURS)
    followed = Event.objects.filter(
        kind__in=[EventKind.ADD_TO_CART, EventKind.PURCHASE],
        ts__gte=since,
        ts__lt=until + window,
        item_id__in={i for _, i in clicks},
    ).values_list("kind", "visitor_id", "user_id", "item_id", "ts", "value", "context")
    for kind, visitor_id, user_id, item_id, ts, quantity, context in followed:
        credited = _latest_click(clicks, [f"v:{visitor_id}", f"u:{user_id}"], item_id, ts, window)
        if credited is None:
            continue
        for row in rows(credited, item_id):
            if kind == EventKind.ADD_TO_CART:
                row.add_to_carts += 1
            else:
                row.purchases += 1
                row.revenue += _revenue(quantity, context)
    return Report(
        since=since,
        until=until,
        by_source=sorted(by_source.values(), key=lambda p: (p.slot, p.source)),
        by_slot=sorted(by_slot.values(), key=lambda p: p.slot),
        by_item=sorted(by_item.values(), key=lambda p: (-p.revenue, -p.clicks, -p.impressions)),
        by_rule=sorted(by_rule.values(), key=lambda p: p.rule_id or 0),
        items_shown=len(shown),
        catalogue_size=catalogue_size,
    )


def _text(value: object) -> str:
    """A context value as text; SQLite's JSON lookup gives ``"3"`` back as the number 3."""
    if isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int) else ""


def _rule_ids(rules: str) -> list[int]:
    """``"3,5"`` → ``[3, 5]``; anything that is not an id is ignored (the context is the client's)."""
    return [int(part) for part in rules.split(",")[:20] if part.isdigit() and len(part) < 12]


def _latest_click(
    clicks: dict[tuple[str, str], list[tuple[datetime, Credit]]],
    who: list[str],
    item_id: str,
    ts: datetime,
    window: timedelta,
) -> Credit | None:
    best: tuple[datetime, Credit] | None = None
    for person in who:
        history = clicks.get((person, item_id))
        if not history:
            continue
        index = bisect.bisect_right(history, (ts, ("\uffff", "\uffff", "\uffff"))) - 1
        if (
            index >= 0
            and ts - history[index][0] <= window
            and (best is None or history[index][0] > best[0])
        ):
            best = history[index]
    return None if best is None else best[1]


def _revenue(quantity: float | None, context: dict) -> Decimal:
    try:
        return Decimal(str(context.get("price", "0"))) * Decimal(str(quantity or 1))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal("0")


def daily_counts(kind: EventKind, days: list[date]) -> dict[date, int]:
    """Events of ``kind`` that carry an attribution token, per day."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    return dict(
        Event.objects.filter(kind=kind, ts__date__gte=days[0], context__has_key="token")
        .annotate(day=TruncDate("ts"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
