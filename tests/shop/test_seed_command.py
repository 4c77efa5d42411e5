"""shop_seed_demo: a small synthetic store with behaviour, deterministic and re-runnable."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count

from recommendations.models import Event, EventKind
from shop.models import Category, Order, OrderLine, Product

pytestmark = pytest.mark.django_db

SMALL = {"products": 40, "customers": 12, "days": 7, "seed": 7, "verbosity": 0}


def snapshot() -> dict[str, object]:
    return {
        "products": list(Product.objects.order_by("sku").values_list("sku", "title", "price")),
        "orders": list(Order.objects.order_by("number").values_list("number", "total")),
        "events": Event.objects.count(),
    }


def test_seed_creates_store_customers_orders_and_events():
    call_command("shop_seed_demo", **SMALL)
    assert Category.objects.count() == 10
    assert Product.objects.count() == 40
    customers = User.objects.filter(username__startswith="customer")
    assert customers.count() == 12
    assert not any(user.has_usable_password() for user in customers)
    assert Order.objects.filter(status=Order.Status.PAID).exists()
    kinds = dict(Event.objects.values_list("kind").annotate(n=Count("id")))
    assert kinds[EventKind.VIEW] > kinds[EventKind.ADD_TO_CART] > 0
    purchases = Event.objects.filter(kind=EventKind.PURCHASE)
    assert purchases.count() == OrderLine.objects.count()

    purchase = purchases.select_related("user").first()
    order = Order.objects.get(pk=purchase.context["order"])
    assert order.created == purchase.ts
    line = order.lines.get(product_id=int(purchase.item_id))
    assert purchase.value == line.quantity and purchase.context["price"] == str(line.unit_price)
    if purchase.user is not None:
        assert purchase.visitor_id == f"seed-{purchase.user.pk}" and order.user == purchase.user


def test_seed_gives_marketers_segments_with_members_and_a_campaign():
    from recommendations.models import Campaign, Segment

    call_command("shop_seed_demo", **SMALL)
    segments = {segment.key: segment for segment in Segment.objects.all()}
    assert set(segments) == {"cart-abandoners", "lapsed-buyers", "big-spenders"}
    assert all(segment.computed_at is not None for segment in segments.values())
    assert segments["big-spenders"].members.count() > 0
    assert segments["cart-abandoners"].members.count() > 0
    campaign = Campaign.objects.get(key="welcome-back")
    assert list(campaign.segments.all()) == [segments["lapsed-buyers"]]


def test_seed_is_deterministic_and_rerunning_adds_nothing():
    call_command("shop_seed_demo", **SMALL)
    first = snapshot()
    call_command("shop_seed_demo", **SMALL)
    assert snapshot() == first


def test_same_seed_same_store_in_a_fresh_database():
    call_command("shop_seed_demo", **SMALL)
    first = snapshot()
    Event.objects.all().delete()
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    Product.objects.all().delete()
    call_command("shop_seed_demo", **SMALL)
    assert snapshot() == first


def test_if_empty_leaves_a_stocked_store_alone():
    call_command("shop_seed_demo", **SMALL)
    before = Event.objects.count()
    call_command("shop_seed_demo", "--if-empty", **{**SMALL, "seed": 8, "products": 60})
    assert Product.objects.count() == 40 and Event.objects.count() == before


@pytest.mark.parametrize(("option", "value"), [("products", 0), ("days", 0), ("customers", -1)])
def test_bad_numbers_are_refused(option, value):
    with pytest.raises(CommandError, match=f"--{option}"):
        call_command("shop_seed_demo", **{**SMALL, option: value})


def test_seeded_lists_earn_clicks_and_orders_on_the_performance_page(admin_client):
    """The demo shows data on a fresh store: lists on product pages were seen (impressions),
    clicked on the way to the next product, and some of those products were then bought."""
    call_command("shop_seed_demo", **SMALL)
    response = admin_client.get("/admin/recommendations/event/performance/", {"preset": "30"})
    report = response.context["report"]
    slots = {row.slot: row for row in report.by_slot}
    assert set(slots) == {"similar", "bought-together"}
    similar = slots["similar"]
    assert similar.impressions > similar.clicks > similar.purchases > 0
    assert 0.05 < similar.ctr < 0.5
    # Every credited order is a real purchase of the clicked item after the click.
    total_orders = sum(row.purchases for row in report.by_slot)
    assert total_orders <= Event.objects.filter(kind=EventKind.PURCHASE).count()
    assert sum(row.revenue for row in report.by_slot) > 0
