"""Synthetic attack traffic, and ordinary shopping to tell it from, through the app's own paths.

Orders are real demo-store orders (so that holding one shows on the order); their checkout
attempts are written by :func:`~recommendations.fraud.attempts.record_attempt` as the app's
receivers write them, and their events go through the event sink (stored at once in embedded
mode, through the Redis stream and an ingest consumer in services mode), so storing them sends
``events_stored`` and queues the scoring task as a store's traffic would.

Each attack returns what it did (:class:`Labelled`): the orders and visitor keys a fraud engine
should flag. ``seed`` makes every run the same.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from recommendations.fraud.attempts import fingerprint_card, record_attempt
from recommendations.fraud.features import visitor_key
from recommendations.models import Event, EventKind
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver
from shop.models import Order

STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Elm Grove")
TOWNS = ("Leeds", "Bristol", "York", "Bath", "Derby", "Exeter", "Norwich")


@dataclass
class Labelled:
    """What one attack (or the ordinary traffic) produced."""

    kind: str
    orders: list[str] = field(default_factory=list)
    visitors: list[str] = field(default_factory=list)


class Traffic:
    """Builds orders, failed payments and browsing; :meth:`flush` stores the events."""

    def __init__(self, seed: int = 0, now: datetime | None = None) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.now = now or timezone.now()
        self.pending: list[EventRecord] = []
        self.serial = 0

    # --- people and cards --------------------------------------------------------------------

    def card(self) -> str:
        return fingerprint_card(f"4{self.rng.randrange(10**14, 10**15):015d}")

    def address(self) -> str:
        return (
            f"{self.rng.randint(1, 180)} {self.rng.choice(STREETS)}, {self.rng.choice(TOWNS)} "
            f"{self.rng.choice('ABCDEFGHJK')}{self.rng.randint(1, 20)} {self.rng.randint(1, 9)}XY"
        )

    def visitor(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.seed}-{self.serial}"

    def account(self, prefix: str, joined: datetime) -> User:
        self.serial += 1
        name = f"{prefix}{self.seed}x{self.serial}"
        return User.objects.create(username=name, email=f"{name}@example.net", date_joined=joined)

    # --- what happens -------------------------------------------------------------------------

    def order(
        self,
        *,
        at: datetime,
        lines: list[tuple[str, int, Decimal]],
        visitor: str,
        user: User | None = None,
        email: str = "",
        address: str = "",
        card: str = "",
    ) -> str:
        """A paid order: the store's row, its checkout attempt, its purchase events (queued)."""
        email = email or (user.email if user else f"{visitor}@example.org")
        total = sum((price * quantity for _, quantity, price in lines), Decimal("0.00"))
        self.serial += 1
        order = Order.objects.create(
            number=f"T{self.seed}-{self.serial:06d}",
            user=user,
            email=email,
            shipping_address=address,
            total=total,
            created=at,
        )
        record_attempt(
            approved=True,
            order_id=str(order.pk),
            user_id=user.pk if user else None,
            visitor_id=visitor,
            email=email,
            shipping_address=address,
            card_fingerprint=card,
            amount=total,
            at=at,
        )
        for item_id, quantity, price in lines:
            self.pending.append(
                self._record(
                    EventKind.PURCHASE,
                    item_id,
                    visitor,
                    user,
                    at,
                    value=quantity,
                    context={"order": order.pk, "price": str(price)},
                )
            )
        return str(order.pk)

    def failed(
        self,
        *,
        at: datetime,
        amount: Decimal,
        visitor: str,
        user: User | None = None,
        email: str = "",
        address: str = "",
        card: str = "",
    ) -> None:
        record_attempt(
            approved=False,
            user_id=user.pk if user else None,
            visitor_id=visitor,
            email=email or (user.email if user else ""),
            shipping_address=address,
            card_fingerprint=card,
            amount=amount,
            at=at,
        )

    def browse(
        self,
        *,
        visitor: str,
        items: list[str],
        start: datetime,
        gap: tuple[float, float],
        user: User | None = None,
        beacon: bool = True,
        carts: int = 0,
    ) -> datetime:
        """Product views ``gap`` seconds apart; with ``beacon``, each page also sends the
        impressions of a recommendation list as a browser would. Returns the time after."""
        ts = start
        for n, item_id in enumerate(items):
            self.pending.append(self._record(EventKind.VIEW, item_id, visitor, user, ts))
            if beacon:
                for shown in self.rng.sample(items, k=min(3, len(items))):
                    self.pending.append(
                        self._record(EventKind.IMPRESSION, shown, visitor, user, ts)
                    )
            if n < carts:
                self.pending.append(
                    self._record(EventKind.ADD_TO_CART, item_id, visitor, user, ts, value=1)
                )
            ts += timedelta(seconds=self.rng.uniform(*gap))
        return ts

    def flush(self) -> None:
        """Store the queued events through the sink (and, in services mode, the consumer)."""
        records, self.pending = self.pending, []
        for start in range(0, len(records), 500):
            deliver(records[start : start + 500])
        if settings.SERVICES_MODE:
            from recommendations.tracking.ingest import Consumer

            Consumer("attack-traffic").run(until_idle=True)

    def _record(
        self,
        kind: int,
        item_id: str,
        visitor: str,
        user: User | None,
        ts: datetime,
        *,
        value: float | None = None,
        context: dict | None = None,
    ) -> EventRecord:
        return EventRecord(
            kind=int(kind),
            item_id=str(item_id),
            visitor_id=visitor,
            user_id=user.pk if user else None,
            value=value,
            context=context or {},
            ts=ts,
            event_id=str(uuid.UUID(int=self.rng.getrandbits(128))),
        )


# --- Attacks -------------------------------------------------------------------------------------


def card_testing(traffic: Traffic, at: datetime, tries: int = 6) -> Labelled:
    """A guest tries stolen card numbers until one goes through: ``tries`` refusals with
    distinct cards within minutes, then a paid order with yet another card."""
    visitor = traffic.visitor("cardtest")
    email = f"{visitor}@mailinator.test"
    address = traffic.address()
    lines = [(str(traffic.rng.randint(1, 60)), 1, Decimal("89.00"))]
    ts = traffic.browse(visitor=visitor, items=lines[0][0:1] * 2, start=at, gap=(5, 20))
    for _ in range(tries):
        traffic.failed(
            at=ts, amount=Decimal("89.00"), visitor=visitor, email=email, address=address,
            card=traffic.card(),
        )  # fmt: skip
        ts += timedelta(seconds=traffic.rng.uniform(10, 50))
    order = traffic.order(
        at=ts, lines=lines, visitor=visitor, email=email, address=address, card=traffic.card()
    )
    return Labelled("card testing", orders=[order], visitors=[f"v:{visitor}"])


def scraping_bot(
    traffic: Traffic, at: datetime, pages: int = 150, *, stealthy: bool = False
) -> Labelled:
    """A script walking the catalogue: a page every half second, no assets, no beacon. A
    ``stealthy`` one runs a real browser engine (the beacon fires) and waits a few seconds on
    each page, as scrapers that try not to be noticed do."""
    visitor = traffic.visitor("scraper")
    items = [str(traffic.rng.randint(1, 400)) for _ in range(pages)]
    gap = (2.0, 6.0) if stealthy else (0.2, 0.9)
    traffic.browse(visitor=visitor, items=items, start=at, gap=gap, beacon=stealthy)
    return Labelled("stealthy scraping" if stealthy else "scraping", visitors=[f"v:{visitor}"])


def fraud_ring(traffic: Traffic, at: datetime, accounts: int = 5) -> Labelled:
    """Fresh accounts with their own cards shipping expensive orders to one drop address
    (typed a little differently each time) over two days."""
    house = traffic.rng.randint(2, 90)
    spellings = [
        f"{house} Rue de l'Église, Paris",
        f"{house} rue de l eglise  PARIS",
        f"{house}, Rue de L'Eglise, Paris",
    ]
    labelled = Labelled("fraud ring")
    for n in range(accounts):
        when = at + timedelta(hours=n * 48 / accounts)
        user = traffic.account("ring", joined=when - timedelta(hours=traffic.rng.uniform(1, 6)))
        visitor = traffic.visitor("ring")
        items = [str(traffic.rng.randint(1, 60)) for _ in range(3)]
        ts = traffic.browse(visitor=visitor, items=items, start=when, gap=(10, 60), user=user)
        lines = [(item, 1, Decimal(traffic.rng.randint(110, 220))) for item in items]
        labelled.orders.append(
            traffic.order(
                at=ts,
                lines=lines,
                visitor=visitor,
                user=user,
                address=spellings[n % len(spellings)],
                card=traffic.card(),
            )
        )
    return labelled


def shilling(
    traffic: Traffic, at: datetime, target: str, partner: str, accounts: int = 12
) -> Labelled:
    """Fake accounts pushing ``target``: each views it (and a few others) by script, then buys
    it with ``partner`` so that it shows as bought with it; they ship to two drop addresses."""
    drops = [traffic.address(), traffic.address()]
    labelled = Labelled("shilling")
    for n in range(accounts):
        when = at + timedelta(minutes=n * 7)
        user = traffic.account("shill", joined=when - timedelta(minutes=30))
        visitor = traffic.visitor("shill")
        items = [target if k % 2 == 0 else str(traffic.rng.randint(1, 60)) for k in range(24)]
        ts = traffic.browse(
            visitor=visitor, items=items, start=when, gap=(0.2, 0.8), user=user, beacon=False
        )
        lines = [(target, 1, Decimal("12.00")), (partner, 1, Decimal("9.00"))]
        labelled.orders.append(
            traffic.order(
                at=ts,
                lines=lines,
                visitor=visitor,
                user=user,
                address=drops[n % 2],
                card=traffic.card(),
            )
        )
        labelled.visitors.append(str(user.pk))
    return labelled


# --- Ordinary shopping ----------------------------------------------------------------------------


def ordinary_traffic(
    traffic: Traffic, *, customers: int = 120, products: int = 150, days: int = 2
) -> Labelled:
    """The demo store's seeded shopping (customers with tastes, weeks of sessions: see
    ``shop.seeding``) over ``days``, with what checkouts add: each customer's address and card
    (a few have two cards or send a gift elsewhere, some couples share a home), and a payment
    refused now and then (a typo, an expired card) before the order goes through. The orders are not scored here."""
    from shop.seeding import SeedOptions, seed_demo_store

    seed_demo_store(
        SeedOptions(products=products, customers=customers, days=days, seed=traffic.seed)
    )
    rng = traffic.rng
    people: dict[str, tuple[list[str], list[str]]] = {}
    homes: list[set[str]] = []
    labelled = Labelled("ordinary")
    orders = Order.objects.filter(number__startswith=f"S{traffic.seed}-").order_by("created")
    for order in orders.iterator():
        person = order.email
        if person not in people:
            cards = [traffic.card()] + ([traffic.card()] if rng.random() < 0.15 else [])
            addresses = [traffic.address()] + ([traffic.address()] if rng.random() < 0.05 else [])
            single = [p for p, (_, a) in people.items() if not any(a[0] in h for h in homes)]
            if single and rng.random() < 0.05:  # a couple, each with an account, one home
                partner = rng.choice(single)
                addresses[0] = people[partner][1][0]
                homes.append({addresses[0]})
            people[person] = (cards, addresses)
        cards, addresses = people[person]
        visitor = f"seed-{order.user_id}" if order.user_id else _guest_visitor(order.number)
        card, address = rng.choice(cards), rng.choice(addresses)
        if rng.random() < 0.04:
            traffic.failed(
                at=order.created - timedelta(seconds=40), amount=order.total, visitor=visitor,
                user=order.user, email=order.email, address=address, card=card,
            )  # fmt: skip
        record_attempt(
            approved=True,
            order_id=str(order.pk),
            user_id=order.user_id,
            visitor_id=visitor,
            email=order.email,
            shipping_address=address,
            card_fingerprint=card,
            amount=order.total,
            at=order.created,
        )
        labelled.orders.append(str(order.pk))
    seeded = Event.objects.filter(visitor_id__startswith="seed-").values_list(
        "user_id", "visitor_id"
    )
    labelled.visitors = sorted({visitor_key(user_id, visitor) for user_id, visitor in seeded})
    return labelled


def _guest_visitor(number: str) -> str:
    """Seeded guests' visitor ids follow their code (``S42-G0007-003`` → ``seed-guest-0007``)."""
    code = number.split("-")[1]
    return f"seed-guest-{code[1:]}"
