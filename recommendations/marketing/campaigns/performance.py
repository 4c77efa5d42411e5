"""What campaigns earned, per day, and their lift over the holdout.

Impressions and clicks are the beacon's events carrying a campaign token (``tokens``), counted as
the recommendation performance counts a slot's (``merchandising.attribution``). An order is
credited to a campaign when the visitor (or user) who clicked it placed it within
``ATTRIBUTION_WINDOW_HOURS`` after the click, whatever it contains: a campaign sends people to the
store, not to one product. Each order line is credited once, to the latest campaign click before
it, and each order counts once however many lines it has.

The lift compares the two arms of the exposures (``exposure``): the share of visitors exposed in
[since, until) who bought anything within the window after their first exposure, shown arm
against holdout, with the two-proportion z-test of the experiments
(``experiments.statistics.compare_proportions``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.experiments.statistics import Comparison, compare_proportions
from recommendations.merchandising.attribution import Performance, _revenue
from recommendations.models import Event, EventKind
from recommendations.tracking.beacon import CAMPAIGN_TOKEN_PREFIX

from .holdout import Arm
from .tokens import campaign_key

#: The lift's significance level: its interval is the 95 % one.
LIFT_ALPHA = 0.05
#: Visitors per ``__in`` query (SQLite's variable limit).
CHUNK = 500


@dataclass
class DayRow:
    day: date
    impressions: int = 0
    clicks: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0")

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0


@dataclass
class Lift:
    """Conversion of exposed visitors, shown arm against the holdout."""

    shown_visitors: int
    shown_buyers: int
    holdout_visitors: int
    holdout_buyers: int
    comparison: Comparison

    @property
    def shown_rate(self) -> float:
        return self.comparison.variant

    @property
    def holdout_rate(self) -> float:
        return self.comparison.control


@dataclass
class CampaignReport:
    key: str
    since: datetime
    until: datetime
    total: Performance
    days: list[DayRow]
    lift: Lift
    #: Orders credited (distinct), beside ``total.purchases`` (credited order lines).
    orders: int = 0


@dataclass
class _Earned:
    total: Performance
    days: dict[date, DayRow] = field(default_factory=dict)
    orders: set[str] = field(default_factory=set)

    def day(self, when: date) -> DayRow:
        if when not in self.days:
            self.days[when] = DayRow(when)
        return self.days[when]


def campaign_report(key: str, since: datetime, until: datetime) -> CampaignReport:
    """One campaign's figures in [since, until), a row for every day of the range."""
    earned = earnings(since, until).get(key) or _Earned(Performance(slot="campaign", source=key))
    days = []
    first, last = timezone.localdate(since), timezone.localdate(until - timedelta(microseconds=1))
    day = first
    while day <= last:
        days.append(earned.days.get(day) or DayRow(day))
        day += timedelta(days=1)
    return CampaignReport(
        key=key,
        since=since,
        until=until,
        total=earned.total,
        days=days,
        lift=lift(key, since, until),
        orders=len(earned.orders),
    )


def earnings(since: datetime, until: datetime) -> dict[str, _Earned]:
    """Per campaign key: impressions, clicks, credited orders and revenue, in total and per day
    (orders on the day of the click that earned them)."""
    found: dict[str, _Earned] = {}

    def of(key: str) -> _Earned:
        if key not in found:
            found[key] = _Earned(Performance(slot="campaign", source=key))
        return found[key]

    tokened = Event.objects.filter(
        ts__gte=since, ts__lt=until, context__token__startswith=CAMPAIGN_TOKEN_PREFIX
    )
    for token, ts in tokened.filter(kind=EventKind.IMPRESSION).values_list("context__token", "ts"):
        if (key := campaign_key(token)) is not None:
            of(key).total.impressions += 1
            of(key).day(timezone.localdate(ts)).impressions += 1

    clicks: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for token, visitor_id, user_id, ts in tokened.filter(kind=EventKind.CLICK).values_list(
        "context__token", "visitor_id", "user_id", "ts"
    ):
        if (key := campaign_key(token)) is not None:
            of(key).total.clicks += 1
            of(key).day(timezone.localdate(ts)).clicks += 1
            clicks[f"v:{visitor_id}"].append((ts, key))
            if user_id is not None:
                clicks[f"u:{user_id}"].append((ts, key))
    for history in clicks.values():
        history.sort()

    window = timedelta(hours=app_settings.ATTRIBUTION_WINDOW_HOURS)
    visitors = [who[2:] for who in clicks if who.startswith("v:")]
    users = [int(who[2:]) for who in clicks if who.startswith("u:")]
    for event_id, visitor_id, user_id, ts, quantity, context in _purchases(
        visitors, users, since, until + window
    ):
        credited = _latest(clicks, [f"v:{visitor_id}", f"u:{user_id}"], ts, window)
        if credited is None:
            continue
        clicked_at, key = credited
        earned = of(key)
        revenue = _revenue(quantity, context if isinstance(context, dict) else {})
        order = str(context.get("order", f"event-{event_id}")) if isinstance(context, dict) else ""
        earned.total.purchases += 1
        earned.total.revenue += revenue
        row = earned.day(timezone.localdate(clicked_at))
        row.revenue += revenue
        if order not in earned.orders:
            earned.orders.add(order)
            row.orders += 1
    return found


def lift(key: str, since: datetime, until: datetime) -> Lift:
    """Conversion of the visitors first exposed in [since, until), per arm, and the test."""
    first: dict[str, tuple[datetime, int | None, str]] = {}
    exposures = Event.objects.filter(
        kind=EventKind.EXPOSURE, ts__gte=since, ts__lt=until, context__campaign=key
    ).values_list("visitor_id", "user_id", "ts", "context__arm")
    for visitor_id, user_id, ts, arm in exposures:
        if arm not in (Arm.SHOWN, Arm.HOLDOUT):
            continue
        seen = first.get(visitor_id)
        if seen is None or ts < seen[0]:
            first[visitor_id] = (ts, user_id, str(arm))

    window = timedelta(hours=app_settings.ATTRIBUTION_WINDOW_HOURS)
    bought: dict[str, list[datetime]] = defaultdict(list)
    users = sorted({user for _, user, _ in first.values() if user is not None})
    for _, buyer, buyer_user, ts, _, _ in _purchases(list(first), users, since, until + window):
        bought[f"v:{buyer}"].append(ts)
        if buyer_user is not None:
            bought[f"u:{buyer_user}"].append(ts)

    visitors = {Arm.SHOWN: 0, Arm.HOLDOUT: 0}
    buyers = {Arm.SHOWN: 0, Arm.HOLDOUT: 0}
    for visitor_id, (exposed_at, exposed_user, arm) in first.items():
        visitors[Arm(arm)] += 1
        purchases = bought.get(f"v:{visitor_id}", []) + (
            bought.get(f"u:{exposed_user}", []) if exposed_user is not None else []
        )
        if any(exposed_at <= ts <= exposed_at + window for ts in purchases):
            buyers[Arm(arm)] += 1
    return Lift(
        shown_visitors=visitors[Arm.SHOWN],
        shown_buyers=buyers[Arm.SHOWN],
        holdout_visitors=visitors[Arm.HOLDOUT],
        holdout_buyers=buyers[Arm.HOLDOUT],
        comparison=compare_proportions(
            buyers[Arm.HOLDOUT],
            visitors[Arm.HOLDOUT],
            buyers[Arm.SHOWN],
            visitors[Arm.SHOWN],
            alpha=LIFT_ALPHA,
        ),
    )


def _purchases(
    visitors: list[str], users: list[int], since: datetime, until: datetime
) -> Iterator[tuple]:
    """Purchase events of these visitors or users in [since, until), each once, oldest first."""
    seen: set[int] = set()
    rows: list[tuple] = []
    purchases = Event.objects.filter(kind=EventKind.PURCHASE, ts__gte=since, ts__lt=until)
    for field_name, values in (("visitor_id__in", visitors), ("user_id__in", users)):
        for chunk in _chunks(values):
            for row in purchases.filter(**{field_name: chunk}).values_list(
                "pk", "visitor_id", "user_id", "ts", "value", "context"
            ):
                if row[0] not in seen:
                    seen.add(row[0])
                    rows.append(row)
    rows.sort(key=lambda row: row[3])
    yield from rows


def _chunks(values: Iterable) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _latest(
    clicks: dict[str, list[tuple[datetime, str]]],
    who: list[str],
    ts: datetime,
    window: timedelta,
) -> tuple[datetime, str] | None:
    """The latest campaign click by any of ``who`` at or before ``ts`` and within ``window``."""
    best: tuple[datetime, str] | None = None
    for person in who:
        history = clicks.get(person)
        if not history:
            continue
        index = bisect.bisect_right(history, (ts, "\uffff")) - 1
        if (
            index >= 0
            and ts - history[index][0] <= window
            and (best is None or history[index] > best)
        ):
            best = history[index]
    return best
