"""What the rules look at: an order's facts and its person's history, a visitor's browsing.

An order is known by its :class:`~recommendations.models.CheckoutAttempt` when the store sent one
(e-mail, address, card, amount), else from its purchase events alone (an imported order): then
only the rules that need no checkout details can judge it. A person is everything sharing the
order's account, browser (visitor id) or e-mail address.

Visitor features are read from stored events only; the beacon's impressions and clicks are what
a browser sends after a page has loaded its assets, so a visitor with many server-side views and
none of them behaves like a script.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from statistics import median
from typing import Any

from django.db.models import CharField, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from recommendations.models import CheckoutAttempt, Event, EventKind, QuarantinedVisitor

#: Events the beacon sends from a loaded page (never the server).
BEACON_KINDS = (int(EventKind.IMPRESSION), int(EventKind.CLICK))
#: A view followed by the next one this quickly had no time on the page.
NO_DWELL_SECONDS = 1.0
#: Purchase events of an order scored without a hint of when it happened are looked for this far.
ORDER_LOOKBACK = timedelta(days=30)


@dataclass(slots=True)
class OrderFacts:
    order_id: str
    at: datetime
    user_id: int | None = None
    visitor_id: str = ""
    email: str = ""
    address: str = ""
    card: str = ""
    amount: Decimal | None = None
    from_attempt: bool = False

    @property
    def user_key(self) -> str:
        """Training's key of whoever placed it ("42", "v:<visitor>", or "" when unknown)."""
        if self.user_id is not None:
            return str(self.user_id)
        return f"v:{self.visitor_id}" if self.visitor_id else ""

    def person(self) -> Q | None:
        """Attempts by the same account, browser or e-mail address; None when none is known."""
        condition = Q()
        for value, name in ((self.user_id, "user_id"), (self.visitor_id, "visitor_id")):
            if value:
                condition |= Q(**{name: value})
        if self.email:
            condition |= Q(email=self.email)
        return condition or None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    created: datetime
    order_id: str
    approved: bool
    user_id: int | None
    email: str
    address: str
    card: str


def order_facts(order_ids: Iterable[str], since: datetime | None = None) -> dict[str, OrderFacts]:
    """Facts of each order that can be found (an unknown id is left out)."""
    wanted = {str(order_id) for order_id in order_ids}
    facts: dict[str, OrderFacts] = {}
    attempts = CheckoutAttempt.objects.filter(order_id__in=wanted, approved=True).order_by(
        "created"
    )
    for attempt in attempts:
        facts[attempt.order_id] = OrderFacts(
            order_id=attempt.order_id,
            at=attempt.created,
            user_id=attempt.user_id,
            visitor_id=attempt.visitor_id,
            email=attempt.email,
            address=attempt.address,
            card=attempt.card_fingerprint,
            amount=attempt.amount,
            from_attempt=True,
        )
    missing = wanted - set(facts)
    if missing:
        lines = purchases().filter(order__in=missing)
        if since is not None:
            lines = lines.filter(ts__gte=since - timedelta(minutes=5))
        for order_id, facts_of in _orders_from_lines(lines).items():
            facts[order_id] = facts_of
    return facts


def purchases() -> Any:  # a QuerySet of Event annotated with ``order``
    """Purchase events with their order id as text (``context["order"]``, an int or a string)."""
    return Event.objects.filter(kind=EventKind.PURCHASE).annotate(
        order=Cast(KT("context__order"), CharField())
    )


def _orders_from_lines(lines: Any) -> dict[str, OrderFacts]:
    found: dict[str, OrderFacts] = {}
    for order_id, ts, user_id, visitor_id, value, context in lines.values_list(
        "order", "ts", "user_id", "visitor_id", "value", "context"
    ):
        if not order_id:
            continue
        line = _line_value(context, value)
        current = found.get(order_id)
        if current is None:
            found[order_id] = OrderFacts(
                order_id, ts, user_id=user_id, visitor_id=visitor_id, amount=line
            )
        else:
            current.at = min(current.at, ts)
            if line is not None:
                current.amount = (current.amount or Decimal(0)) + line
    return found


def _line_value(context: object, quantity: float | None) -> Decimal | None:
    price = context.get("price") if isinstance(context, dict) else None
    if price is None:
        return None
    try:
        return Decimal(str(price)) * Decimal(str(quantity if quantity is not None else 1))
    except (InvalidOperation, ValueError):
        return None


def person_attempts(facts: OrderFacts, since: datetime, until: datetime) -> list[AttemptRow]:
    """The checkout attempts of the order's person between ``since`` and ``until``."""
    person = facts.person()
    if person is None:
        return []
    rows = (
        CheckoutAttempt.objects.filter(person, created__gte=since, created__lte=until)
        .order_by("created")
        .values_list(
            "created", "order_id", "approved", "user_id", "email", "address", "card_fingerprint"
        )
    )
    return [AttemptRow(*row) for row in rows]


def address_attempts(address: str, since: datetime, until: datetime) -> list[AttemptRow]:
    """Every attempt shipping to ``address`` between ``since`` and ``until``."""
    if not address:
        return []
    rows = CheckoutAttempt.objects.filter(
        address=address, created__gte=since, created__lte=until
    ).values_list("created", "order_id", "approved", "user_id", "email", "card_fingerprint")
    return [
        AttemptRow(created, order_id, approved, user_id, email, address, card)
        for created, order_id, approved, user_id, email, card in rows
    ]


def person_orders(facts: OrderFacts, since: datetime, until: datetime) -> dict[str, OrderFacts]:
    """The person's orders between ``since`` and ``until`` by id: their purchase events (every
    order has them, imported ones too) joined with their approved checkout attempts."""
    orders: dict[str, OrderFacts] = {}
    lines: Any = None
    if facts.user_id is not None:
        lines = purchases().filter(user_id=facts.user_id)
    elif facts.visitor_id:
        lines = purchases().filter(visitor_id=facts.visitor_id, user__isnull=True)
    if lines is not None:
        orders.update(_orders_from_lines(lines.filter(ts__gte=since, ts__lte=until)))
    for row in person_attempts(facts, since, until):
        if row.approved and row.order_id:
            known = orders.get(row.order_id)
            at = known.at if known is not None else row.created
            orders[row.order_id] = OrderFacts(row.order_id, min(at, row.created))
    amounts = dict(
        CheckoutAttempt.objects.filter(order_id__in=list(orders), approved=True).values_list(
            "order_id", "amount"
        )
    )
    for order_id, amount in amounts.items():
        if amount is not None:
            orders[order_id].amount = amount
    return orders


# --- Visitors ------------------------------------------------------------------------------------

#: The anomaly model's inputs, in this order.
FEATURE_NAMES = (
    "events",
    "views",
    "views_per_minute",
    "no_dwell_share",
    "beacon_per_view",
    "carts",
    "distinct_items",
    "median_gap_seconds",
    "purchases",
)


@dataclass(slots=True)
class VisitorActivity:
    """A visitor's (or signed-in user's) browsing in the window read."""

    key: str
    user_id: int | None
    visitor_id: str
    first: datetime
    last: datetime
    events: int = 0
    views: int = 0
    beacon: int = 0
    carts: int = 0
    purchases: int = 0
    items: set[str] = field(default_factory=set)
    view_times: list[datetime] = field(default_factory=list)
    quarantined: bool = False

    @property
    def minutes(self) -> float:
        return max((self.last - self.first).total_seconds() / 60.0, 1.0)

    @property
    def views_per_minute(self) -> float:
        return self.views / self.minutes

    @property
    def gaps(self) -> list[float]:
        times = sorted(self.view_times)
        return [(b - a).total_seconds() for a, b in pairwise(times)]

    @property
    def no_dwell_share(self) -> float:
        gaps = self.gaps
        return sum(gap < NO_DWELL_SECONDS for gap in gaps) / len(gaps) if gaps else 0.0

    @property
    def median_gap(self) -> float:
        gaps = self.gaps
        return float(median(gaps)) if gaps else 0.0

    def vector(self) -> list[float]:
        """The anomaly model's input (counts on a log scale)."""
        return [
            math.log1p(self.events),
            math.log1p(self.views),
            math.log1p(self.views_per_minute),
            self.no_dwell_share,
            math.log1p(self.beacon / max(self.views, 1)),
            math.log1p(self.carts),
            math.log1p(len(self.items)),
            math.log1p(self.median_gap),
            math.log1p(self.purchases),
        ]


def visitor_key(user_id: int | None, visitor_id: str) -> str:
    return str(user_id) if user_id is not None else f"v:{visitor_id}"


def visitor_activity(
    keys: Iterable[str],
    window: timedelta,
    until: datetime | None = None,
    since: datetime | None = None,
) -> dict[str, VisitorActivity]:
    """Each key's events in the ``window`` before its latest event, of those stored between
    ``since`` (default: ``window`` before ``until``) and ``until`` (default: now)."""
    until = until or timezone.now()
    since = since or until - window
    keys = set(keys)
    users = [int(key) for key in keys if key.isdigit()]
    visitors = [key[2:] for key in keys if key.startswith("v:")]
    rows: list[tuple] = []
    columns = ("user_id", "visitor_id", "ts", "kind", "item_id")
    stored = Event.objects.filter(ts__gte=since, ts__lte=until)
    for chunk in _chunks(users):
        rows += stored.filter(user_id__in=chunk).values_list(*columns)
    for chunk in _chunks(visitors):
        rows += stored.filter(visitor_id__in=chunk, user__isnull=True).values_list(*columns)
    by_key: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_key[visitor_key(row[0], row[1])].append(row)
    quarantined: set[str] = set()
    for chunk in _chunks(sorted({row[1] for row in rows})):
        quarantined |= set(
            QuarantinedVisitor.objects.filter(visitor_id__in=chunk).values_list(
                "visitor_id", flat=True
            )
        )
    found: dict[str, VisitorActivity] = {}
    for key, events in by_key.items():
        last = max(row[2] for row in events)
        recent = [row for row in events if row[2] >= last - window]
        activity = VisitorActivity(
            key=key,
            user_id=recent[0][0],
            visitor_id=recent[0][1],
            first=min(row[2] for row in recent),
            last=last,
        )
        for _, visitor_id, ts, kind, item_id in recent:
            activity.events += 1
            activity.quarantined |= visitor_id in quarantined
            if kind == EventKind.VIEW:
                activity.views += 1
                activity.view_times.append(ts)
                activity.items.add(item_id)
            elif kind in BEACON_KINDS:
                activity.beacon += 1
            elif kind == EventKind.ADD_TO_CART:
                activity.carts += 1
            elif kind == EventKind.PURCHASE:
                activity.purchases += 1
        found[key] = activity
    return found


def _chunks(values: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
