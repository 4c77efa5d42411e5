"""Impressions, clicks and later purchases are joined by token so slots can be compared."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations.merchandising.attribution import slot_performance
from recommendations.models import Event, EventKind
from recommendations.serving.pipeline import Audience, recommend
from recommendations.types import Slot

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


def test_performance_page_shows_the_table_and_charts(admin_client):
    Event.objects.bulk_create([event(EventKind.CLICK, "1", token=SIMILAR, minutes=60 * 29)])
    response = admin_client.get("/admin/recommendations/event/performance/")
    assert response.status_code == 200
    assert b"Clicks per day" in response.content and b"<svg" in response.content
    assert [(r.slot, r.clicks) for r in response.context["rows"]] == [("similar", 1)]
