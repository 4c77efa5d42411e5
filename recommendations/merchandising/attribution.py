"""What recommendations earned: impressions, clicks and purchases per slot and source.

Slots render an attribution token (``<slot>.<sources>.<random>``) that the beacon sends back with
impressions and clicks. A purchase is credited to a click when the same visitor (or user) bought
the clicked item within ``ATTRIBUTION_WINDOW_HOURS`` after the click; each purchase is credited
once, to the latest such click.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from recommendations.conf import app_settings
from recommendations.models import Event, EventKind


@dataclass
class SlotPerformance:
    slot: str
    source: str
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0
    revenue: Decimal = Decimal("0")

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion(self) -> float:
        return self.purchases / self.clicks if self.clicks else 0.0


def parse_token(token: object) -> tuple[str, str] | None:
    if not isinstance(token, str) or token.count(".") < 2:
        return None
    slot, source, _ = token.split(".", 2)
    return slot, source


def slot_performance(since: datetime, until: datetime) -> list[SlotPerformance]:
    """Per (slot, source): impressions and clicks in [since, until), purchases they led to."""
    rows: dict[tuple[str, str], SlotPerformance] = {}

    def row(key: tuple[str, str]) -> SlotPerformance:
        if key not in rows:
            rows[key] = SlotPerformance(*key)
        return rows[key]

    in_window = Event.objects.filter(ts__gte=since, ts__lt=until)
    for token in in_window.filter(kind=EventKind.IMPRESSION).values_list(
        "context__token", flat=True
    ):
        if (key := parse_token(token)) is not None:
            row(key).impressions += 1

    clicks: dict[tuple[str, str], list[tuple[datetime, tuple[str, str]]]] = defaultdict(list)
    for token, visitor_id, user_id, item_id, ts in in_window.filter(
        kind=EventKind.CLICK
    ).values_list("context__token", "visitor_id", "user_id", "item_id", "ts"):
        if (key := parse_token(token)) is not None:
            row(key).clicks += 1
            clicks[(f"v:{visitor_id}", item_id)].append((ts, key))
            if user_id is not None:
                clicks[(f"u:{user_id}", item_id)].append((ts, key))
    for history in clicks.values():
        history.sort()

    window = timedelta(hours=app_settings.ATTRIBUTION_WINDOW_HOURS)
    purchases = Event.objects.filter(
        kind=EventKind.PURCHASE,
        ts__gte=since,
        ts__lt=until + window,
        item_id__in={i for _, i in clicks},
    ).values_list("visitor_id", "user_id", "item_id", "ts", "value", "context")
    for visitor_id, user_id, item_id, ts, quantity, context in purchases:
        credited = _latest_click(clicks, [f"v:{visitor_id}", f"u:{user_id}"], item_id, ts, window)
        if credited is not None:
            performance = row(credited)
            performance.purchases += 1
            performance.revenue += _revenue(quantity, context)
    return sorted(rows.values(), key=lambda p: (p.slot, p.source))


def _latest_click(
    clicks: dict[tuple[str, str], list[tuple[datetime, tuple[str, str]]]],
    who: list[str],
    item_id: str,
    ts: datetime,
    window: timedelta,
) -> tuple[str, str] | None:
    best: tuple[datetime, tuple[str, str]] | None = None
    for person in who:
        history = clicks.get((person, item_id))
        if not history:
            continue
        index = bisect.bisect_right(history, (ts, ("\uffff", "\uffff"))) - 1
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
