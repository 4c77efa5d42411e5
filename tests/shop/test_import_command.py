"""shop_import_online_retail on a small generated file in the real file's format."""

from __future__ import annotations

import csv
import gzip
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from recommendations.models import Event, EventKind
from shop.models import Order, OrderLine, Product
from shop.online_retail import COLUMNS, EVENT_NAMESPACE, category_for

pytestmark = pytest.mark.django_db

# The real file's format: numbers as text, CustomerID as a float, guests without one.
DATA = """\
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom
536365,POST,POSTAGE,1,2010-12-01 08:26:00,18.00,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047.0,United Kingdom
536367,22745,POPPY'S PLAYHOUSE BEDROOM,6,2010-12-01 08:34:00,2.10,13047.0,United Kingdom
536367,85123A,CREAM HANGING HEART T-LIGHT HOLDER,2,2010-12-01 08:34:00,2.95,13047.0,United Kingdom
536368,22960,JAM MAKING SET WITH JARS,2,2010-12-01 08:40:00,4.25,,United Kingdom
536368,22960,,1,2010-12-01 08:40:00,4.25,,United Kingdom
536368,DOT,DOTCOM POSTAGE,1,2010-12-01 08:40:00,569.77,,United Kingdom
536369,85123A,WHITE HANGING HEART T-LIGHT HOLDER,4,2010-12-01 09:00:00,2.55,13047.0,United Kingdom
536370,22961,JAM JAR,-5,2010-12-01 09:10:00,1.45,,United Kingdom
536371,22962,?,10,2010-12-01 09:12:00,0,,United Kingdom
536372,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-01 09:14:00,17.02,,United Kingdom
536372,AMAZONFEE,AMAZON FEE,1,2010-12-01 09:14:00,13541.33,,United Kingdom
536372,BANK CHARGES,Bank Charges,1,2010-12-01 09:14:00,15.00,,United Kingdom
C536379,84879,ASSORTED COLOUR BIRD ORNAMENT,-8,2010-12-02 10:00:00,1.69,13047.0,United Kingdom
C536380,22960,JAM MAKING SET WITH JARS,-1,2010-12-02 11:00:00,4.25,99999.0,United Kingdom
C536381,D,Discount,-1,2010-12-02 12:00:00,27.50,14527.0,United Kingdom
"""
ROWS = [tuple(row) for row in csv.reader(DATA.splitlines())]
SALE_LINES = 9  # rows of paid invoices with a product code, quantity > 0 and price > 0
NON_PRODUCT_LINES = 6  # POST, DOT, gift_0001_20, AMAZONFEE, BANK CHARGES, D


def write_csv(path: Path, rows: list[tuple[str, ...]], header=COLUMNS, *, gzipped=True) -> Path:
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    if gzipped:
        path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    else:
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def retail_file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "online_retail.csv.gz", ROWS)


def run_import(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("shop_import_online_retail", str(path), *args, verbosity=0, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "products": Product.objects.count(),
        "users": User.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "events": Event.objects.count(),
    }


def test_import_creates_products_customers_orders_and_purchases(retail_file):
    summary = run_import(retail_file)

    assert set(Product.objects.values_list("sku", flat=True)) == {
        "85123A",
        "71053",
        "22633",
        "84879",
        "22745",
        "22960",
    }
    assert set(User.objects.values_list("username", flat=True)) == {"retail-17850", "retail-13047"}
    assert not User.objects.get(username="retail-17850").has_usable_password()
    assert set(Order.objects.values_list("number", flat=True)) == {
        "536365",
        "536366",
        "536367",
        "536368",
        "536369",
    }
    assert OrderLine.objects.count() == SALE_LINES
    assert Event.objects.filter(kind=EventKind.PURCHASE).count() == SALE_LINES
    assert "Non-product lines skipped     6" in summary
    assert "Quantity/price <= 0 skipped   2" in summary


def test_products_take_the_usual_title_and_price(retail_file):
    run_import(retail_file)
    heart = Product.objects.get(sku="85123A")
    assert heart.title == "White Hanging Heart T-Light Holder"
    assert heart.price == Decimal("2.55")
    assert heart.category.name == "Candles & Lights"
    assert Product.objects.get(sku="22960").title == "Jam Making Set With Jars"


def test_orders_keep_their_customer_date_and_total(retail_file):
    run_import(retail_file)
    order = Order.objects.get(number="536365")
    assert order.user.username == "retail-17850"
    assert order.created == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)
    assert order.total == Decimal("6") * Decimal("2.55") + Decimal("6") * Decimal("3.39")
    assert order.status == Order.Status.PAID
    guest = Order.objects.get(number="536368")
    assert guest.user is None and guest.lines.count() == 2


def test_purchase_events_mirror_the_lines(retail_file):
    run_import(retail_file)
    heart = Product.objects.get(sku="85123A")
    event = Event.objects.get(event_id=uuid.uuid5(EVENT_NAMESPACE, "536365:85123A:1"))
    order = Order.objects.get(number="536365")
    assert (event.kind, event.item_id, event.value) == (EventKind.PURCHASE, str(heart.pk), 6)
    assert event.visitor_id == "retail-17850" and event.user == order.user
    assert event.ts == order.created
    assert event.context == {"order": order.pk, "price": "2.55"}
    guest_visitors = set(
        Event.objects.filter(user=None).values_list("visitor_id", flat=True).distinct()
    )
    assert guest_visitors == {"retail-guest-536368"}


def test_cancellation_cancels_the_matching_order_and_counts_the_rest(retail_file):
    summary = run_import(retail_file)
    assert Order.objects.get(number="536367").status == Order.Status.CANCELLED
    assert not Order.objects.filter(number__startswith="C").exists()
    assert Order.objects.filter(status=Order.Status.CANCELLED).count() == 1
    assert "Cancellation lines            2: 1 matched, 1 without an original" in summary


def test_rerunning_stores_nothing_twice(retail_file):
    run_import(retail_file)
    before = counts()
    summary = run_import(retail_file)
    assert counts() == before
    assert "Orders created / existing     0 (guest 0) / 5" in summary
    assert "Purchase events stored        0" in summary


def test_plain_csv_and_limit(tmp_path):
    path = write_csv(tmp_path / "retail.csv", ROWS, gzipped=False)
    run_import(path, "--limit", "3")
    assert counts() == {"products": 2, "users": 1, "orders": 1, "lines": 2, "events": 2}
    run_import(path)
    assert counts()["lines"] == SALE_LINES


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="File not found"):
        run_import(tmp_path / "nope.csv.gz")


def test_wrong_columns_are_named(tmp_path):
    header = tuple(column for column in COLUMNS if column != "UnitPrice")
    path = write_csv(tmp_path / "bad.csv", [row[:5] + row[6:] for row in ROWS], header=header)
    with pytest.raises(CommandError, match="missing column\\(s\\) UnitPrice"):
        run_import(path)
    assert counts()["orders"] == 0


def test_bad_limit_is_refused(retail_file):
    with pytest.raises(CommandError, match="--limit"):
        run_import(retail_file, "--limit", "0")


@pytest.mark.parametrize(
    ("description", "category"),
    [
        ("PAPER CHAIN KIT 50'S CHRISTMAS", "Christmas"),
        ("WHITE HANGING HEART T-LIGHT HOLDER", "Candles & Lights"),
        ("JUMBO BAG RED RETROSPOT", "Bags"),
        ("SET OF 3 CAKE TINS PANTRY DESIGN", "Kitchen & Baking"),
        ("HAND WARMER UNION JACK", "Gifts"),
    ],
)
def test_categories_come_from_description_keywords(description, category):
    assert category_for(description) == category
