"""Impressions, clicks and later purchases are joined by token so slots can be compared."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations.merchandising.attribution import slot_performance
from recommendations.models import Event, EventKind
from recommendations.serving.pipeline import Audience, recommend
from recommendations.types import Slot

from .conftest import ids as catalogue_ids

pytestmark = pytest.mark.django_db

SIMILAR = "similar.similar.abc123"
TRENDING = "trending.trending.def456"


def event(kind, item, *, visitor="v1", token=None, minutes=0, price=None, quantity=None):
    context = {"token": token} if token else {}
    if price is not None:
        context["price"] = price
    return Event(
        visitor_id=visitor,
        item_id=item,
        kind=kind,
        value=quantity,
        context=context,
        ts=timezone.now() - timedelta(hours=30) + timedelta(minutes=minutes),
    )


def test_clicks_and_purchases_are_credited_to_the_slot_that_earned_them():
    Event.objects.bulk_create(
        [event(EventKind.IMPRESSION, str(i), token=SIMILAR) for i in range(4)]
        + [event(EventKind.IMPRESSION, "9", token=TRENDING)]
        + [event(EventKind.CLICK, "1", token=SIMILAR, minutes=1)]
        + [event(EventKind.PURCHASE, "1", minutes=30, price="2.50", quantity=2)]  # credited
        + [
            event(EventKind.PURCHASE, "1", visitor="v2", minutes=30, price="9.99", quantity=1)
        ]  # someone else
        + [event(EventKind.PURCHASE, "2", minutes=30, price="5.00", quantity=1)]  # not clicked
        + [event(EventKind.CLICK, "9", token=TRENDING, minutes=2)]
        + [
            event(EventKind.PURCHASE, "9", minutes=2 + 25 * 60, price="7.00", quantity=1)
        ]  # too late
    )
    now = timezone.now()
    rows = {(r.slot, r.source): r for r in slot_performance(now - timedelta(days=2), now)}
    similar, trending = rows[("similar", "similar")], rows[("trending", "trending")]
    assert (similar.impressions, similar.clicks, similar.purchases) == (4, 1, 1)
    assert similar.revenue == Decimal("5.00")
    assert similar.ctr == 0.25
    assert (trending.impressions, trending.clicks, trending.purchases) == (1, 1, 0)


def test_tokens_name_the_slot_and_the_sources_of_the_list(catalogue):
    result = recommend(Slot.TRENDING, Audience(), limit=3)
    slot, sources, nonce = result.token.split(".")
    assert slot == "trending"
    assert sources == "+".join(sorted({"catalogue"}))  # a store without events yet
    assert len(nonce) == 12


def _earnings(item: str = "1") -> list[Event]:
    """Four similar impressions, a click on ``item``, then an add-to-cart and an order of two at
    2.50."""
    return (
        [event(EventKind.IMPRESSION, shown, token=SIMILAR) for shown in (item, "a", "b", "c")]
        + [event(EventKind.CLICK, item, token=SIMILAR, minutes=1)]
        + [event(EventKind.ADD_TO_CART, item, minutes=5)]
        + [event(EventKind.PURCHASE, item, minutes=30, price="2.50", quantity=2)]
    )


def test_performance_page_shows_rates_revenue_items_and_a_chart(admin_client, settings, catalogue):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CURRENCY": "GBP"}
    item = catalogue_ids(catalogue["Toys"])[0]
    Event.objects.bulk_create(_earnings(item))
    response = admin_client.get("/admin/recommendations/event/performance/")
    assert response.status_code == 200
    report = response.context["report"]
    (similar,) = report.by_source
    assert (similar.impressions, similar.clicks, similar.add_to_carts, similar.purchases) == (
        4, 1, 1, 1,
    )  # fmt: skip
    assert report.items_shown == 4 and report.catalogue_size == 18
    content = response.content.decode()
    # Rates as percentages, revenue in the store's currency, items by name.
    assert "25.0%" in content and "100.0%" in content and "5.00 GBP" in content
    assert f"Toys thing 0 ({item})" in content
    assert 'data-chart="chart-daily"' in content and "chart.umd.min.js" in content


def test_performance_ranges_presets_custom_and_refused(admin_client):
    Event.objects.bulk_create(_earnings())
    url = "/admin/recommendations/event/performance/"
    week = admin_client.get(url, {"preset": "7"})
    assert len(week.context["daily_chart"]["labels"]) == 7
    today = timezone.localdate()
    old = admin_client.get(url, {"preset": "custom", "since": "2020-01-01", "until": "2020-01-31"})
    assert old.status_code == 200 and old.context["report"].by_source == []
    backwards = admin_client.get(
        url, {"preset": "custom", "since": str(today), "until": "2020-01-01"}
    )
    assert backwards.status_code == 200 and "report" not in backwards.context
    assert "starts" in backwards.content.decode() and "after it ends" in backwards.content.decode()
    garbage = admin_client.get(url, {"preset": "custom", "since": "yesterday", "until": "x"})
    assert garbage.status_code == 200 and "Enter a valid date" in garbage.content.decode()


def test_performance_exports_csv(admin_client, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CURRENCY": "EUR"}
    Event.objects.bulk_create(_earnings())
    response = admin_client.get(
        "/admin/recommendations/event/performance/", {"preset": "30", "format": "csv"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_level = {(r["level"], r["slot"], r["source"], r["item_id"]): r for r in rows}
    source = by_level[("source", "similar", "similar", "")]
    assert source["ctr_percent"] == "25.00" and source["revenue"] == "5.00"
    assert source["currency"] == "EUR" and source["add_to_carts"] == "1"
    assert by_level[("item", "", "", "1")]["orders"] == "1"


def test_performance_is_refused_to_shoppers(django_user_model):
    from django.test import Client

    shopper = django_user_model.objects.create_user("shopper", password="pw-123456789")
    client = Client()
    client.force_login(shopper)
    assert client.get("/admin/recommendations/event/performance/").status_code == 302


def test_clicks_and_orders_are_credited_to_the_rule_that_placed_the_item(admin_client, catalogue):
    from django.test import Client

    from recommendations.models import Rule
    from recommendations.types import Action

    toys = catalogue_ids(catalogue["Toys"])
    rule = Rule.objects.create(name="Launch", action=Action.PIN, item_id=toys[5], position=1)
    body = Client().get("/recommendations/api/recommendations/trending/", {"limit": 3}).json()
    first = body["items"][0]
    assert first["item_id"] == toys[5] and first["rules"] == str(rule.pk)
    assert all(item["rules"] == "" for item in body["items"][1:])
    html = Client().get(f"/products/{toys[0]}/").content.decode()
    assert f'data-rec-rules="{rule.pk}"' in html  # what beacon.js sends back as context.rules

    placed = {"token": body["token"], "rules": first["rules"]}
    Event.objects.bulk_create(
        [
            Event(visitor_id="v9", item_id=toys[5], kind=EventKind.IMPRESSION, context=placed),
            Event(visitor_id="v9", item_id=toys[5], kind=EventKind.CLICK, context=placed),
            Event(
                visitor_id="v9", item_id=toys[5], kind=EventKind.PURCHASE, value=1,
                context={"price": "9.00"},
            ),
        ]
    )  # fmt: skip
    response = admin_client.get("/admin/recommendations/event/performance/")
    (row,) = response.context["report"].by_rule
    assert (row.rule_id, row.impressions, row.clicks, row.purchases) == (rule.pk, 1, 1, 1)
    assert row.revenue == Decimal("9.00")
    assert "Launch: Pin" in response.content.decode()
