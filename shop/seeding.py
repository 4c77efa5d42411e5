"""A synthetic demo store: catalogue, customers with tastes, and weeks of their behaviour.

The behaviour is not uniform noise: each customer prefers two or three categories and reacts to
price, products have heavy-tailed popularity, products of related categories are browsed together,
and sets of products go together in baskets (:data:`~shop.demo_data.BUNDLES`: a teapot with a milk
jug and a mug): a shopper who puts one of a set in the cart usually adds the rest. That gives the
recommendation models something to find (the co-purchase model beats popularity on these baskets),
and the demo something to show.

Everything is derived from ``--seed`` through separate random streams (catalogue, customers, and
one per visitor), so the same seed creates the same rows, with timestamps counted back from the
current hour. Keys (SKU, username, order number, event id) are deterministic, so a re-run only adds
what is missing.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from recommendations.marketing.segments import rebuild_segments
from recommendations.models import (
    Campaign,
    CampaignContent,
    ConditionKind,
    EventKind,
    Segment,
    SegmentCondition,
)
from recommendations.tracking.records import EventRecord
from recommendations.tracking.store import insert_events

from .bulk import Progress, chunked, no_progress
from .demo_data import (
    BUNDLES,
    CARE,
    CATEGORIES,
    COLOURS,
    FIRST_NAMES,
    LAST_NAMES,
    STYLES,
    CategorySpec,
)
from .models import Category, Order, OrderLine, Product

SEED_NAMESPACE = uuid.UUID("5b0c1f8e-2f1e-4c55-9a51-0d6f3c1f7e42")
EVENT_BATCH = 5000
QUERY_CHUNK = 2000
# Shoppers browse more in the evening: relative weight of each hour of the day (UTC).
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 6, 6, 5, 5, 5, 6, 8, 10, 11, 10, 7, 3)
# How likely a shopper who carts one product of a set completes it, and adds each missing piece.
SET_COMPLETION = 0.7
SET_PIECE = 0.8
# Product pages show a list of this many recommendations; a shopper who goes on to a product that
# the list showed came from it this often (a click), otherwise by browsing.
LIST_LENGTH = 4
LIST_CLICK_THROUGH = 0.5


@dataclass(frozen=True, slots=True)
class SeedOptions:
    products: int = 300
    customers: int = 300
    days: int = 28
    seed: int = 42


@dataclass(slots=True)
class SeedReport:
    categories: int = 0
    products: int = 0
    customers: int = 0
    orders: int = 0
    order_lines: int = 0
    events_generated: int = 0
    events_stored: int = 0
    segments: int = 0
    segment_members: int = 0


@dataclass(slots=True)
class ShelfItem:
    """What the simulation knows about one product."""

    pk: int
    category: str
    price: Decimal
    popularity: float
    sellable: bool
    partners: list[int] = field(default_factory=list)
    noun: str = ""
    style: str = ""
    companions: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Shopper:
    username: str | None
    user_id: int | None
    visitor_id: str
    code: str
    email: str
    categories: tuple[str, ...]
    price_sensitivity: float
    sessions_per_week: float


@dataclass(slots=True)
class PlannedOrder:
    number: str
    user_id: int | None
    email: str
    created: datetime
    lines: list[tuple[int, int, Decimal]]
    events: list[EventRecord] = field(default_factory=list)


def seed_demo_store(options: SeedOptions, progress: Progress = no_progress) -> SeedReport:
    """Create the demo store described by ``options``, adding only what is missing."""
    report = SeedReport()
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=options.days)
    with transaction.atomic():
        categories = ensure_categories(report)
        shelf = ensure_products(options, categories, start, report)
        shoppers = ensure_customers(options, start, report) + guests(options)
        orders: list[PlannedOrder] = []
        events: list[EventRecord] = []
        for shopper in progress(shoppers, "Simulating shoppers"):
            simulate_shopper(options.seed, shopper, shelf, start, options.days, orders, events)
        write_orders(orders, report)
        for order in orders:
            events.extend(order.events)
        report.events_generated = len(events)
        batches = list(chunked(events, EVENT_BATCH))
        for batch in progress(batches, "Storing events"):
            report.events_stored += len(insert_events(batch))
        ensure_marketing(report)
    report.segment_members = rebuild_segments(now=end).entered
    return report


#: The demo's segments, one per kind of question a marketer asks first, and the campaign
#: that welcomes lapsed buyers back: what an empty admin could not show.
DEMO_SEGMENTS = (
    ("cart-abandoners", "Cart abandoners", [{"kind": ConditionKind.CART_ABANDONED, "hours": 24, "days": 7}]),
    ("lapsed-buyers", "Lapsed buyers", [{"kind": ConditionKind.LAPSED_BUYER, "orders": 2, "days": 10}]),
    ("big-spenders", "Big spenders", [{"kind": ConditionKind.HIGH_VALUE, "percent": 10, "days": 28}]),
)  # fmt: skip


def ensure_marketing(report: SeedReport) -> None:
    """The demo segments and a banner campaign for lapsed buyers, when missing."""
    for key, name, conditions in DEMO_SEGMENTS:
        segment, created = Segment.objects.get_or_create(key=key, defaults={"name": name})
        if created:
            for fields in conditions:
                SegmentCondition.objects.create(segment=segment, **fields)
            report.segments += 1
    campaign, created = Campaign.objects.get_or_create(
        key="welcome-back",
        defaults={
            "name": "Welcome back",
            "content": CampaignContent.BANNER,
            "headline": "We missed you: 10 % off your next order",
            "link_url": "/",
            "coupon_code": "WELCOME10",
            "starts_at": timezone.now(),
        },
    )
    if created:
        campaign.segments.add(Segment.objects.get(key="lapsed-buyers"))


def ensure_categories(report: SeedReport) -> dict[str, Category]:
    categories = {}
    for spec in CATEGORIES:
        category, created = Category.objects.get_or_create(
            slug=spec.slug, defaults={"name": spec.name}
        )
        report.categories += created
        categories[spec.slug] = category
    return categories


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    """Log-uniform between the bounds, ending in .99 like shop prices do."""
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    return Decimal(max(round(raw), 2)) - Decimal("0.01")


def _new_product(
    rng: random.Random, index: int, spec: CategorySpec, category: Category, start: datetime
) -> tuple[Product, str, str]:
    """The product, with the noun and style the set-making needs (titles are not parsed back)."""
    style, colour = rng.choice(STYLES), rng.choice(COLOURS)
    noun, material, brand = (
        rng.choice(spec.nouns),
        rng.choice(spec.materials),
        rng.choice(spec.brands),
    )
    title = f"{style} {colour} {noun}"
    description = (
        f"A {style.lower()} {noun.lower()} in {colour.lower()} {material}, by {brand}. "
        f"{rng.choice(spec.selling_points)} {rng.choice(CARE)}"
    )
    product = Product(
        sku=f"{spec.code}-{index + 1:05d}",
        title=title,
        slug=slugify(title),
        description=description,
        category=category,
        brand=brand,
        tags=", ".join([style.lower(), colour.lower(), material, noun.lower()]),
        price=_price(rng, *spec.price_range),
        stock=0 if rng.random() < 0.06 else rng.randint(3, 120),
        active=rng.random() > 0.03,
        created=start - timedelta(days=rng.uniform(0, 180)),
    )
    return product, noun, style


def ensure_products(
    options: SeedOptions, categories: dict[str, Category], start: datetime, report: SeedReport
) -> list[ShelfItem]:
    rng = random.Random(f"{options.seed}:products")
    planned: list[Product] = []
    nouns: dict[str, tuple[str, str]] = {}
    for index in range(options.products):
        spec = CATEGORIES[index % len(CATEGORIES)]
        product, noun, style = _new_product(rng, index, spec, categories[spec.slug], start)
        planned.append(product)
        nouns[product.sku] = (noun, style)
    popularity = [rng.paretovariate(1.3) for _ in planned]
    existing = set()
    for chunk in chunked([p.sku for p in planned], QUERY_CHUNK):
        existing |= set(Product.objects.filter(sku__in=chunk).values_list("sku", flat=True))
    missing = [p for p in planned if p.sku not in existing]
    Product.objects.bulk_create(missing, batch_size=500)
    report.products = len(missing)

    stored: dict[str, tuple[int, int, bool, Decimal]] = {}
    for chunk in chunked([p.sku for p in planned], QUERY_CHUNK):
        for sku, pk, stock, active, price in Product.objects.filter(sku__in=chunk).values_list(
            "sku", "pk", "stock", "active", "price"
        ):
            stored[sku] = (pk, stock, active, price)
    shelf = []
    for product, weight in zip(planned, popularity, strict=True):
        pk, stock, active, price = stored[product.sku]
        if active:
            noun, style = nouns[product.sku]
            item = ShelfItem(
                pk, product.category.slug, price, weight, stock > 0, noun=noun, style=style
            )
            shelf.append(item)
    _pair_partners(rng, shelf)
    _form_sets(random.Random(f"{options.seed}:bundles"), shelf)
    return shelf


def _pair_partners(rng: random.Random, shelf: list[ShelfItem]) -> None:
    """Give each product one or two companions from the categories it sells alongside."""
    by_category: dict[str, list[ShelfItem]] = {}
    for item in shelf:
        by_category.setdefault(item.category, []).append(item)
    partners_of = {spec.slug: spec.partners for spec in CATEGORIES}
    for item in shelf:
        pool = [p for slug in partners_of[item.category] for p in by_category.get(slug, [])]
        if pool:
            item.partners = [p.pk for p in rng.sample(pool, k=min(len(pool), rng.choice((1, 2))))]


def _form_sets(rng: random.Random, shelf: list[ShelfItem]) -> None:
    """Give each sellable anchor product (a teapot) one sellable piece of every other noun of its
    bundle (a milk jug, a mug), of the same style when the shelf has one; every piece of a set
    lists the others as its companions. A separate random stream, so the catalogue itself does
    not depend on the bundles."""
    by_noun: dict[str, list[ShelfItem]] = {}
    for item in shelf:
        if item.sellable:
            by_noun.setdefault(item.noun, []).append(item)
    for anchor_noun, *piece_nouns in BUNDLES:
        for anchor in by_noun.get(anchor_noun, []):
            pieces = [anchor]
            for noun in piece_nouns:
                choices = [p for p in by_noun.get(noun, []) if p.pk != anchor.pk]
                matching = [p for p in choices if p.style == anchor.style]
                if matching or choices:
                    pieces.append(rng.choice(matching or choices))
            if len(pieces) < 2:
                continue
            for piece in pieces:
                for other in pieces:
                    if other.pk != piece.pk and other.pk not in piece.companions:
                        piece.companions.append(other.pk)


def ensure_customers(options: SeedOptions, start: datetime, report: SeedReport) -> list[Shopper]:
    rng = random.Random(f"{options.seed}:customers")
    slugs = [spec.slug for spec in CATEGORIES]
    width = max(3, len(str(options.customers)))
    planned: list[tuple[User, tuple[str, ...], float, float]] = []
    for i in range(1, options.customers + 1):
        username = f"customer{i:0{width}d}"
        user = User(
            username=username,
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            email=f"{username}@example.com",
            date_joined=start - timedelta(days=rng.uniform(1, 365)),
        )
        tastes = tuple(rng.sample(slugs, k=rng.choice((2, 2, 3))))
        planned.append((user, tastes, rng.random(), rng.lognormvariate(0.7, 0.6)))
    usernames = [user.username for user, *_ in planned]
    existing: dict[str, int] = {}
    for chunk in chunked(usernames, QUERY_CHUNK):
        existing.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    missing = [user for user, *_ in planned if user.username not in existing]
    for user in missing:
        user.password = make_password(None)
    User.objects.bulk_create(missing, batch_size=500)
    report.customers = len(missing)
    for chunk in chunked([u.username for u in missing], QUERY_CHUNK):
        existing.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    return [
        Shopper(
            username=user.username,
            user_id=existing[user.username],
            visitor_id=f"seed-{existing[user.username]}",
            code=f"C{i:0{width}d}",
            email=user.email,
            categories=tastes,
            price_sensitivity=sensitivity,
            sessions_per_week=weekly,
        )
        for i, (user, tastes, sensitivity, weekly) in enumerate(planned, start=1)
    ]


def guests(options: SeedOptions) -> list[Shopper]:
    """Visitors without an account: fewer sessions, the occasional guest checkout."""
    rng = random.Random(f"{options.seed}:guests")
    slugs = [spec.slug for spec in CATEGORIES]
    return [
        Shopper(
            username=None,
            user_id=None,
            visitor_id=f"seed-guest-{i:04d}",
            code=f"G{i:04d}",
            email=f"guest{i:04d}@example.com",
            categories=tuple(rng.sample(slugs, k=2)),
            price_sensitivity=rng.random(),
            sessions_per_week=rng.uniform(0.2, 0.8),
        )
        for i in range(1, options.customers // 2 + 1)
    ]


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class _Recorder:
    """Builds the shopper's events with ids derived from the seed, so re-runs dedupe."""

    def __init__(self, seed: int, shopper: Shopper) -> None:
        self.prefix = f"seed:{seed}:{shopper.code}"
        self.shopper = shopper
        self.count = 0
        self.shown = 0

    def __call__(
        self, kind: int, item: ShelfItem, ts: datetime, value: float | None = None
    ) -> EventRecord:
        self.count += 1
        return self._record(kind, item, ts, value, f"{self.prefix}:{self.count}")

    def on_list(self, kind: int, item: ShelfItem, ts: datetime, token: str) -> EventRecord:
        """An impression or click on a recommendation list; numbered apart from the shopper's
        other events, so adding lists to a store seeded before keeps its events' ids."""
        self.shown += 1
        record = self._record(kind, item, ts, None, f"{self.prefix}:list:{self.shown}")
        record.context = {"token": token}
        return record

    def _record(
        self, kind: int, item: ShelfItem, ts: datetime, value: float | None, key: str
    ) -> EventRecord:
        return EventRecord(
            kind=kind,
            item_id=str(item.pk),
            visitor_id=self.shopper.visitor_id,
            user_id=self.shopper.user_id,
            value=value,
            ts=ts,
            event_id=str(uuid.uuid5(SEED_NAMESPACE, f"{key}")),
        )


class _Chooser:
    """Picks products for one shopper: popular items more often, cheap ones if price-sensitive."""

    def __init__(self, shopper: Shopper, shelf: list[ShelfItem], rng: random.Random) -> None:
        self.rng = rng
        self.by_pk = {item.pk: item for item in shelf}
        self.by_category: dict[str, tuple[list[ShelfItem], list[float]]] = {}
        grouped: dict[str, list[ShelfItem]] = {}
        for item in shelf:
            grouped.setdefault(item.category, []).append(item)
        for slug, items in grouped.items():
            typical = float(median(float(i.price) for i in items))
            exponent = 1.5 * shopper.price_sensitivity
            weights = [i.popularity * (typical / float(i.price)) ** exponent for i in items]
            self.by_category[slug] = (items, weights)
        self.categories = sorted(self.by_category)

    def pick(self, category: str) -> ShelfItem | None:
        if category not in self.by_category:
            return None
        items, weights = self.by_category[category]
        return self.rng.choices(items, weights)[0]


def simulate_shopper(
    seed: int,
    shopper: Shopper,
    shelf: list[ShelfItem],
    start: datetime,
    days: int,
    orders: list[PlannedOrder],
    events: list[EventRecord],
) -> None:
    """Append the shopper's sessions (events) and paid orders over ``days`` from ``start``."""
    rng = random.Random(f"{seed}:visit:{shopper.code}")
    chooser = _Chooser(shopper, shelf, rng)
    if not chooser.categories:
        return
    sessions = _poisson(rng, shopper.sessions_per_week * days / 7)
    latest = start + timedelta(days=days, hours=-2)  # sessions end before "now"
    starts = sorted(
        min(
            latest,
            start
            + timedelta(days=rng.randrange(days), hours=rng.choices(range(24), HOUR_WEIGHTS)[0])
            + timedelta(minutes=rng.uniform(0, 50)),
        )
        for _ in range(sessions)
    )
    taste_weights = [0.5, 0.3, 0.2][: len(shopper.categories)]
    record = _Recorder(seed, shopper)
    # Lists shown draw from their own stream: the shopper's behaviour is the same with them.
    lists_rng = random.Random(f"{seed}:lists:{shopper.code}")
    for session_no, session_start in enumerate(starts):
        if rng.random() < 0.85:
            category = rng.choices(shopper.categories, taste_weights)[0]
        else:
            category = rng.choice(chooser.categories)
        ts = session_start
        cart: dict[int, int] = {}
        last: ShelfItem | None = None
        for _ in range(1 + _poisson(rng, 4.0)):
            partner = False
            if last and last.partners and rng.random() < 0.25:
                item = chooser.by_pk.get(rng.choice(last.partners)) or last
                partner = item is not last
            else:
                if rng.random() < 0.15:
                    category = rng.choice(shopper.categories)
                item = chooser.pick(category) or last
            if item is None:
                continue
            if last is not None and item is not last:
                ts = _list_on_page(lists_rng, record, chooser, last, item, partner, events, ts)
            events.append(record(EventKind.VIEW, item, ts))
            ts += timedelta(seconds=rng.uniform(15, 240))
            if item.sellable and rng.random() < 0.2:
                quantity = rng.choice((2, 3)) if item.price < 10 and rng.random() < 0.3 else 1
                cart[item.pk] = cart.get(item.pk, 0) + quantity
                events.append(record(EventKind.ADD_TO_CART, item, ts, quantity))
                ts += timedelta(seconds=rng.uniform(5, 60))
                if item.companions and rng.random() < SET_COMPLETION:
                    ts = _complete_set(rng, record, chooser, item, cart, events, ts)
            last = item
        if cart and rng.random() < 0.12:
            pk = rng.choice(sorted(cart))
            events.append(record(EventKind.REMOVE_FROM_CART, chooser.by_pk[pk], ts, cart.pop(pk)))
            ts += timedelta(seconds=rng.uniform(5, 30))
        buy_chance = 0.55 if shopper.user_id else 0.3
        if cart and rng.random() < buy_chance:
            ts += timedelta(seconds=rng.uniform(30, 300))
            order = PlannedOrder(
                number=f"S{seed}-{shopper.code}-{session_no + 1:03d}",
                user_id=shopper.user_id,
                email=shopper.email,
                created=ts,
                lines=[(pk, qty, chooser.by_pk[pk].price) for pk, qty in cart.items()],
            )
            for pk, qty, price in order.lines:
                purchase = record(EventKind.PURCHASE, chooser.by_pk[pk], ts, qty)
                purchase.context = {"price": str(price)}
                order.events.append(purchase)
            orders.append(order)


def _list_on_page(
    rng: random.Random,
    record: _Recorder,
    chooser: _Chooser,
    page: ShelfItem,
    going_to: ShelfItem,
    partner: bool,
    events: list[EventRecord],
    ts: datetime,
) -> datetime:
    """The list on ``page``'s product page as the shopper saw it (impressions with the list's
    attribution token) and, often, the click that took them to ``going_to``: the next product is
    a partner (bought together) or one of the same category (similar). Returns the new time."""
    slot = "bought-together" if partner else "similar"
    token = f"{slot}.{slot}.{rng.getrandbits(48):012x}"
    clicked = rng.random() < LIST_CLICK_THROUGH
    shown: list[ShelfItem] = [going_to] if clicked else []
    for _ in range(LIST_LENGTH * 3):
        if len(shown) >= LIST_LENGTH:
            break
        other = chooser.pick(page.category)
        if other is not None and other is not page and other not in shown:
            shown.append(other)
    rng.shuffle(shown)
    for item in shown:
        events.append(record.on_list(EventKind.IMPRESSION, item, ts, token))
    if clicked:
        ts += timedelta(seconds=rng.uniform(2, 20))
        events.append(record.on_list(EventKind.CLICK, going_to, ts, token))
    return ts + timedelta(seconds=1)


def _complete_set(
    rng: random.Random,
    record: _Recorder,
    chooser: _Chooser,
    item: ShelfItem,
    cart: dict[int, int],
    events: list[EventRecord],
    ts: datetime,
) -> datetime:
    """View and cart the missing pieces of ``item``'s set, most of them; returns the new time."""
    for pk in item.companions:
        piece = chooser.by_pk.get(pk)
        if piece is None or pk in cart or rng.random() >= SET_PIECE:
            continue
        events.append(record(EventKind.VIEW, piece, ts))
        ts += timedelta(seconds=rng.uniform(10, 90))
        cart[pk] = 1
        events.append(record(EventKind.ADD_TO_CART, piece, ts, 1))
        ts += timedelta(seconds=rng.uniform(5, 40))
    return ts


def write_orders(orders: list[PlannedOrder], report: SeedReport) -> None:
    """Insert orders not stored yet, then stamp every purchase event with its order's pk."""
    numbers = [order.number for order in orders]
    stored: dict[str, int] = {}
    for chunk in chunked(numbers, QUERY_CHUNK):
        stored.update(Order.objects.filter(number__in=chunk).values_list("number", "pk"))
    new = [order for order in orders if order.number not in stored]
    Order.objects.bulk_create(
        [
            Order(
                number=order.number,
                user_id=order.user_id,
                email=order.email,
                status=Order.Status.PAID,
                total=sum((price * qty for _, qty, price in order.lines), Decimal("0.00")),
                created=order.created,
            )
            for order in new
        ],
        batch_size=500,
    )
    for chunk in chunked([order.number for order in new], QUERY_CHUNK):
        stored.update(Order.objects.filter(number__in=chunk).values_list("number", "pk"))
    lines = [
        OrderLine(order_id=stored[order.number], product_id=pk, quantity=qty, unit_price=price)
        for order in new
        for pk, qty, price in order.lines
    ]
    OrderLine.objects.bulk_create(lines, batch_size=1000)
    report.orders, report.order_lines = len(new), len(lines)
    for order in orders:
        for event in order.events:
            event.context = {"order": stored[order.number], **event.context}
