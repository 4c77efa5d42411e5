"""Import of the UCI Online Retail file (a real gift-ware web store's invoices) into the shop.

Chen, D., Sain, S. L., & Guo, K. (2012). Online Retail [Dataset]. UCI Machine Learning Repository
(dataset 352), CC BY 4.0. The file is read from wherever it lies; it is never copied.

Mapping: a StockCode becomes a Product (SKU), a CustomerID a User (``retail-<id>``), an invoice a
paid Order with its real date, each sale line an OrderLine and a purchase event. Every key is
derived from the file (SKU, username, invoice number, a UUIDv5 event id), so importing again, or
after an interrupted run, adds only what is missing. Cancellation invoices (``C…``) create nothing:
they mark the customer's latest earlier order of that product as cancelled (an order has no
per-line status, so a partly cancelled invoice counts as cancelled).
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import re
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.text import slugify

from recommendations.models import EventKind
from recommendations.tracking.records import EventRecord
from recommendations.tracking.store import insert_events

from .bulk import Progress, chunked, no_progress
from .models import Category, Order, OrderLine, Product

COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
EVENT_NAMESPACE = uuid.UUID("0e6f5a0c-8f2b-4a53-b3c5-6c1d2f8a9e17")
INVOICES_PER_CHUNK = 1000
EVENT_BATCH = 5000
QUERY_CHUNK = 2000
IMPORTED_STOCK = 100
CENT = Decimal("0.01")
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M")

# First match wins, so the specific (Christmas mugs are Christmas) comes before the generic.
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE", "BAUBLE")),
    ("Party & Easter", ("PARTY", "BUNTING", "BALLOON", "GARLAND", "BIRTHDAY", "EASTER", "BUNNY")),
    (
        "Candles & Lights",
        (
            "CANDLE",
            "CANDLEHOLDER",
            "T-LIGHT",
            "TEA LIGHT",
            "TLIGHT",
            "HOLDER",
            "LANTERN",
            "LIGHTS",
            "NIGHT LIGHT",
            "INCENSE",
        ),
    ),
    ("Bags", ("BAG", "HANDBAG", "TOTE", "SHOPPER", "PURSE", "BACKPACK", "RUCKSACK", "LUGGAGE")),
    ("Mugs & Cups", ("MUG", "CUP", "SAUCER", "BEAKER", "TEACUP")),
    ("Cards & Wrap", ("CARD", "WRAP", "PAPER", "TISSUE", "ENVELOPE", "GIFT TAG", "STICKER")),
    (
        "Kitchen & Baking",
        (
            "CAKE",
            "BAKING",
            "PLATE",
            "BOWL",
            "DISH",
            "JAR",
            "LUNCH BOX",
            "TIN",
            "NAPKIN",
            "TEA TOWEL",
            "APRON",
            "SPOON",
            "CUTLERY",
            "BOTTLE",
            "TRAY",
            "KITCHEN",
            "JUG",
            "PAN",
            "FOOD",
            "TEA",
        ),
    ),
    ("Crafts & Sewing", ("SEWING", "RIBBON", "TAPE", "FELTCRAFT", "CROCHET", "KNITTING", "REEL")),
    (
        "Toys & Games",
        ("TOY", "GAME", "PUZZLE", "DOLL", "PLAYHOUSE", "DOMINOES", "JIGSAW", "SPACEBOY"),
    ),
    ("Garden", ("GARDEN", "PLANT", "BIRD", "WATERING", "FLOWER POT", "PLANTER", "PARASOL")),
    ("Stationery", ("PEN", "PENCIL", "NOTEBOOK", "ERASER", "RULER", "CALENDAR", "NOTEPAD", "BOOK")),
    (
        "Jewellery & Accessories",
        ("NECKLACE", "BRACELET", "EARRINGS", "RING", "HAIR", "UMBRELLA", "CHARM", "BROOCH"),
    ),
    (
        "Home Decor",
        (
            "FRAME",
            "SIGN",
            "CUSHION",
            "CLOCK",
            "MIRROR",
            "DOORMAT",
            "VASE",
            "HOOK",
            "DECORATION",
            "HEART",
            "DRAWER",
            "KNOB",
            "CABINET",
            "BASKET",
            "WALL",
            "MAGNET",
            "DOORSTOP",
            "HANGER",
            "CURTAIN",
            "TILE",
            "WREATH",
            "BOX",
            "BOXES",
            "TRINKET",
            "RACK",
            "PHOTO",
        ),
    ),
)
DEFAULT_CATEGORY = "Gifts"
_CATEGORY_PATTERNS = [
    (name, re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")S?\b"))
    for name, keys in CATEGORY_KEYWORDS
]


class ImportFileError(ValueError):
    """The file cannot be imported at all (missing, unreadable, wrong columns)."""


def category_for(description: str) -> str:
    text = description.upper()
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(text):
            return name
    return DEFAULT_CATEGORY


def is_product_code(stock_code: str) -> bool:
    """Real products have numeric codes (``85123A``); postage, fees and adjustments do not."""
    return stock_code[:1].isdigit()


@dataclass(slots=True)
class InvoiceDraft:
    customer: str | None
    created: datetime
    lines: list[tuple[str, int, Decimal, int]] = field(default_factory=list)
    seen: int = 0


@dataclass(slots=True)
class ImportReport:
    lines_read: int = 0
    non_product_lines: int = 0
    non_product_codes: Counter[str] = field(default_factory=Counter)
    invalid_lines: int = 0
    malformed_lines: int = 0
    sale_lines: int = 0
    products_created: int = 0
    products_existing: int = 0
    categories_created: int = 0
    customers_created: int = 0
    customers_existing: int = 0
    orders_created: int = 0
    orders_existing: int = 0
    guest_orders_created: int = 0
    order_lines_created: int = 0
    events_stored: int = 0
    cancellation_lines: int = 0
    cancellations_matched: int = 0
    cancellations_unmatched: int = 0
    orders_cancelled: int = 0


@dataclass(slots=True)
class _Parsed:
    invoices: dict[str, InvoiceDraft] = field(default_factory=dict)
    descriptions: dict[str, Counter[str]] = field(default_factory=dict)
    prices: dict[str, Counter[Decimal]] = field(default_factory=dict)
    first_sold: dict[str, datetime] = field(default_factory=dict)
    cancellations: list[tuple[str | None, str, datetime]] = field(default_factory=list)


@contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """The file as text, gunzipped when it starts with the gzip magic bytes."""
    if not path.is_file():
        raise ImportFileError(f"File not found: {path}")
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        with (
            gzip.GzipFile(fileobj=raw) if gzipped else nullcontext(raw) as binary,
            io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="") as text,
        ):
            yield text


def read_rows(path: Path, limit: int | None) -> Iterator[dict[str, str]]:
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames or []
        except (OSError, EOFError, csv.Error) as error:
            raise ImportFileError(f"Cannot read {path}: {error}") from error
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            raise ImportFileError(
                f"{path} is missing column(s) {', '.join(missing)}; "
                f"expected {', '.join(COLUMNS)}, found {', '.join(header) or 'no header'}."
            )
        try:
            for count, row in enumerate(reader):
                if limit is not None and count >= limit:
                    break
                yield row
        except (OSError, EOFError, csv.Error) as error:
            raise ImportFileError(f"Cannot read {path}: {error}") from error


class _Parser:
    """Turns raw rows into invoices, product statistics and cancellations, counting what it skips."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.parsed = _Parsed()
        self._dates: dict[str, datetime] = {}
        self._prices: dict[str, Decimal] = {}

    def date(self, text: str) -> datetime:
        value = self._dates.get(text)
        if value is None:
            for fmt in DATE_FORMATS:
                try:
                    value = datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"unknown date format: {text!r}")
            self._dates[text] = value
        return value

    def price(self, text: str) -> Decimal:
        value = self._prices.get(text)
        if value is None:
            value = Decimal(text.strip()).quantize(CENT, rounding=ROUND_HALF_UP)
            self._prices[text] = value
        return value

    def feed(self, row: dict[str, str]) -> None:
        report = self.report
        report.lines_read += 1
        code = sys.intern((row["StockCode"] or "").strip())
        if not is_product_code(code):
            report.non_product_lines += 1
            report.non_product_codes[code] += 1
            return
        invoice = (row["InvoiceNo"] or "").strip()
        try:
            quantity = int(float(row["Quantity"]))
            price = self.price(row["UnitPrice"])
            created = self.date(row["InvoiceDate"])
            customer = _customer_id(row["CustomerID"])
        except (ValueError, TypeError, InvalidOperation, AttributeError):
            report.malformed_lines += 1
            return
        if not invoice:
            report.malformed_lines += 1
        elif invoice.upper().startswith("C"):
            report.cancellation_lines += 1
            self.parsed.cancellations.append((customer, code, created))
        elif quantity <= 0 or price <= 0:
            report.invalid_lines += 1
        else:
            self._sale(invoice, code, quantity, price, created, customer, row["Description"])

    def _sale(
        self,
        invoice: str,
        code: str,
        quantity: int,
        price: Decimal,
        created: datetime,
        customer: str | None,
        description: str | None,
    ) -> None:
        parsed = self.parsed
        self.report.sale_lines += 1
        draft = parsed.invoices.get(invoice)
        if draft is None:
            draft = parsed.invoices[invoice] = InvoiceDraft(customer=customer, created=created)
        draft.seen += 1
        draft.lines.append((code, quantity, price, draft.seen))
        text = (description or "").strip()
        if text:
            parsed.descriptions.setdefault(code, Counter())[text] += 1
        parsed.prices.setdefault(code, Counter())[price] += 1
        if code not in parsed.first_sold or created < parsed.first_sold[code]:
            parsed.first_sold[code] = created


def _customer_id(raw: str | None) -> str | None:
    """``"17850.0"`` (how spreadsheets export the id) and ``"17850"`` are the same customer."""
    text = (raw or "").strip()
    if not text:
        return None
    return str(int(float(text)))


def _title(description: str) -> str:
    return description.title()[:200]


def import_online_retail(
    path: Path, *, limit: int | None = None, progress: Progress = no_progress
) -> ImportReport:
    """Import the file at ``path`` (first ``limit`` data lines); see the module docstring."""
    report = ImportReport()
    parser = _Parser(report)
    for row in progress(read_rows(path, limit), "Reading lines"):
        parser.feed(row)
    parsed = parser.parsed
    sku_to_pk = ensure_products(parsed, report)
    customer_to_pk = ensure_customers(parsed, report)
    invoices = sorted(parsed.invoices.items(), key=lambda item: (item[1].created, item[0]))
    chunks = list(chunked(invoices, INVOICES_PER_CHUNK))
    for chunk in progress(chunks, "Importing invoices"):
        with transaction.atomic():
            import_invoices(chunk, sku_to_pk, customer_to_pk, report)
    apply_cancellations(parsed, report)
    return report


def ensure_products(parsed: _Parsed, report: ImportReport) -> dict[str, int]:
    """Products for every code that was sold at least once; existing SKUs are left as they are."""
    codes = sorted(parsed.prices)
    stored: dict[str, int] = {}
    for chunk in chunked(codes, QUERY_CHUNK):
        stored.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))
    report.products_existing = len(stored)
    new_codes = [code for code in codes if code not in stored]
    titles = {
        code: _title(parsed.descriptions[code].most_common(1)[0][0])
        if code in parsed.descriptions
        else f"Item {code}"
        for code in new_codes
    }
    categories = ensure_categories({category_for(title) for title in titles.values()}, report)
    new = []
    for code in new_codes:
        title, category = titles[code], categories[category_for(titles[code])]
        # Most common price; ties go to the lower price, for a deterministic result.
        price = max(parsed.prices[code].items(), key=lambda item: (item[1], -item[0]))[0]
        new.append(
            Product(
                sku=code,
                title=title,
                slug=slugify(title),
                description=f"{title}. Stock code {code} of the Online Retail gift-ware range.",
                category=category,
                tags=category.name.lower(),
                price=price,
                stock=IMPORTED_STOCK,
                active=True,
                created=parsed.first_sold[code],
            )
        )
    with transaction.atomic():
        Product.objects.bulk_create(new, batch_size=500)
    report.products_created = len(new)
    for chunk in chunked(new_codes, QUERY_CHUNK):
        stored.update(Product.objects.filter(sku__in=chunk).values_list("sku", "pk"))
    return stored


def ensure_categories(names: set[str], report: ImportReport) -> dict[str, Category]:
    categories = {}
    for name in sorted(names):
        category = Category.objects.filter(name=name).first()
        if category is None:
            category = Category.objects.create(name=name, slug=_free_slug(slugify(name)))
            report.categories_created += 1
        categories[name] = category
    return categories


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while Category.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def ensure_customers(parsed: _Parsed, report: ImportReport) -> dict[str, int]:
    first_seen: dict[str, datetime] = {}
    for draft in parsed.invoices.values():
        if draft.customer and (
            draft.customer not in first_seen or draft.created < first_seen[draft.customer]
        ):
            first_seen[draft.customer] = draft.created
    usernames = {customer: f"retail-{customer}" for customer in sorted(first_seen)}
    stored: dict[str, int] = {}
    for chunk in chunked(list(usernames.values()), QUERY_CHUNK):
        stored.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    report.customers_existing = len(stored)
    new = [
        User(username=username, password=make_password(None), date_joined=first_seen[customer])
        for customer, username in usernames.items()
        if username not in stored
    ]
    with transaction.atomic():
        User.objects.bulk_create(new, batch_size=500)
    report.customers_created = len(new)
    for chunk in chunked([user.username for user in new], QUERY_CHUNK):
        stored.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    return {customer: stored[username] for customer, username in usernames.items()}


def import_invoices(
    invoices: list[tuple[str, InvoiceDraft]],
    sku_to_pk: dict[str, int],
    customer_to_pk: dict[str, int],
    report: ImportReport,
) -> None:
    """Orders, lines and purchase events for invoices not imported yet, in one transaction.

    Orders that already exist are skipped whole (lines and events too): they were committed
    together, and events a user had erased must not come back through a re-import.
    """
    stored = dict(
        Order.objects.filter(number__in=[number for number, _ in invoices]).values_list(
            "number", "pk"
        )
    )
    report.orders_existing += len(stored)
    new = [(number, draft) for number, draft in invoices if number not in stored]
    Order.objects.bulk_create(
        [
            Order(
                number=number,
                user_id=customer_to_pk[draft.customer] if draft.customer else None,
                status=Order.Status.PAID,
                total=sum((price * qty for _, qty, price, _ in draft.lines), Decimal("0.00")),
                created=draft.created,
            )
            for number, draft in new
        ],
        batch_size=500,
    )
    order_pks = dict(
        Order.objects.filter(number__in=[number for number, _ in new]).values_list("number", "pk")
    )
    lines: list[OrderLine] = []
    events: list[EventRecord] = []
    for number, draft in new:
        user_id = customer_to_pk[draft.customer] if draft.customer else None
        visitor = f"retail-{draft.customer}" if draft.customer else f"retail-guest-{number}"
        for code, quantity, price, line_no in draft.lines:
            product_pk = sku_to_pk[code]
            lines.append(
                OrderLine(
                    order_id=order_pks[number],
                    product_id=product_pk,
                    quantity=quantity,
                    unit_price=price,
                )
            )
            events.append(
                EventRecord(
                    kind=EventKind.PURCHASE,
                    item_id=str(product_pk),
                    visitor_id=visitor,
                    user_id=user_id,
                    value=quantity,
                    ts=draft.created,
                    context={"order": order_pks[number], "price": str(price)},
                    event_id=str(uuid.uuid5(EVENT_NAMESPACE, f"{number}:{code}:{line_no}")),
                )
            )
        report.guest_orders_created += draft.customer is None
    OrderLine.objects.bulk_create(lines, batch_size=2000)
    for batch in chunked(events, EVENT_BATCH):
        report.events_stored += len(insert_events(batch))
    report.orders_created += len(new)
    report.order_lines_created += len(lines)


def apply_cancellations(parsed: _Parsed, report: ImportReport) -> None:
    """Cancel the customer's latest order of the product placed no later than the cancellation."""
    history: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for number, draft in parsed.invoices.items():
        if draft.customer:
            for code in {line[0] for line in draft.lines}:
                history.setdefault((draft.customer, code), []).append((draft.created, number))
    for entries in history.values():
        entries.sort()
    cancelled: set[str] = set()
    for customer, code, when in parsed.cancellations:
        entries = history.get((customer, code), []) if customer else []
        position = bisect.bisect_right(entries, when, key=lambda entry: entry[0])
        if position:
            cancelled.add(entries[position - 1][1])
            report.cancellations_matched += 1
        else:
            report.cancellations_unmatched += 1
    numbers = sorted(cancelled)
    with transaction.atomic():
        for chunk in chunked(numbers, QUERY_CHUNK):
            Order.objects.filter(number__in=chunk).update(status=Order.Status.CANCELLED)
    report.orders_cancelled = len(numbers)
