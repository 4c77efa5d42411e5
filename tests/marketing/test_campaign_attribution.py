"""Impressions, clicks and orders are credited to campaigns; the lift compares the arms."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from scipy import stats

from recommendations.marketing.campaigns.performance import campaign_report, lift
from recommendations.models import Event, EventKind

from .campaign_support import (
    TOKEN,
    _fresh_campaign_caches,  # noqa: F401  (autouse)
    campaign,
    products,
    visitor_client,
    visitor_id,
)

pytestmark = pytest.mark.django_db

CARD = {
    "email": "ann@example.com",
    "shipping_address": "1 High Street, Leeds",
    "name": "Ann Buyer",
    "expiry": "12/39",
    "cvc": "123",
    "card_number": "4242 4242 4242 4242",
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def beacon(client, *events: dict) -> int:
    body = {"events": [{"event_id": str(uuid.uuid4()), **event} for event in events]}
    response = client.post(
        "/recommendations/api/events/", json.dumps(body), content_type="application/json"
    )
    return response.status_code


def buy(client, product, quantity: int, capture) -> None:
    client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": quantity})
    with capture(execute=True):
        response = client.post(reverse("shop:checkout"), CARD)
    assert response.status_code == 302, response.content


def today() -> tuple:
    now = timezone.now()
    return now - timedelta(days=1), now + timedelta(minutes=1)


def test_a_banner_click_and_the_order_after_it_are_credited_through_beacon_and_checkout(
    django_capture_on_commit_callbacks, drain, admin_client, settings
):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CURRENCY": "GBP"}
    teapot, mug = products(2)
    campaign("spring-sale", headline="Spring sale", coupon_code="SPRING")
    shopper = visitor_client(visitor_id(1))
    (token,) = TOKEN.findall(shopper.get("/").content.decode())
    # What beacon.js sends for the banner: no item, the campaign's token.
    assert beacon(shopper, {"kind": "impression", "context": {"token": token}}) < 300
    assert beacon(shopper, {"kind": "click", "context": {"token": token}}) < 300
    buy(shopper, teapot, 2, django_capture_on_commit_callbacks)  # 2 x 10.00

    # Someone who never clicked buys too: not the campaign's order.
    bystander = visitor_client(visitor_id(2))
    bystander.get("/")
    buy(bystander, mug, 1, django_capture_on_commit_callbacks)
    drain()

    report = campaign_report("spring-sale", *today())
    assert (report.total.impressions, report.total.clicks, report.orders) == (1, 1, 1)
    assert report.total.revenue == Decimal("20.00")
    assert report.total.ctr == 1.0
    (day,) = [row for row in report.days if row.clicks]
    assert (day.impressions, day.clicks, day.orders, day.revenue) == (1, 1, 1, Decimal("20.00"))

    page = admin_client.get(
        reverse("admin:recommendations_campaign_performance", args=[report_campaign_pk()])
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-chart="chart-daily"' in html and "20.00 GBP" in html and "100.0%" in html


def report_campaign_pk() -> int:
    from recommendations.models import Campaign

    return Campaign.objects.get(key="spring-sale").pk


def test_a_product_list_click_credits_orders_of_any_product_within_the_window_only():
    now = timezone.now()
    token = "campaign.kettles.0123456789ab"

    def event(kind, visitor, minutes, item="1", **context):
        return Event(
            visitor_id=visitor, item_id=item, kind=kind, context=context,
            ts=now - timedelta(hours=30) + timedelta(minutes=minutes), value=1,
        )  # fmt: skip

    Event.objects.bulk_create(
        [
            event(EventKind.IMPRESSION, "a", 0, token=token),
            event(EventKind.IMPRESSION, "a", 0, item="2", token=token),
            event(EventKind.CLICK, "a", 1, token=token),
            event(EventKind.PURCHASE, "a", 30, item="7", order=1, price="4.00"),  # another product
            event(EventKind.PURCHASE, "a", 30, item="8", order=1, price="6.00"),  # same order
            event(EventKind.PURCHASE, "a", 26 * 60, item="7", order=2, price="4.00"),  # too late
            event(EventKind.PURCHASE, "b", 40, item="7", order=3, price="4.00"),  # never clicked
            event(EventKind.IMPRESSION, "c", 0, token="trending.popular.0123456789ab"),
        ]
    )
    report = campaign_report("kettles", now - timedelta(days=2), now)
    assert (report.total.impressions, report.total.clicks) == (2, 1)
    assert (report.orders, report.total.purchases, report.total.revenue) == (1, 2, Decimal("10"))
    assert campaign_report("other", now - timedelta(days=2), now).total.impressions == 0


def test_lift_compares_the_conversion_of_the_two_arms_with_a_z_test():
    now = timezone.now()
    start = now - timedelta(days=3)
    rows = []
    for arm, visitors, buyers in (("shown", 400, 80), ("holdout", 200, 20)):
        for n in range(visitors):
            visitor = f"{arm}-{n}"
            exposed = start + timedelta(minutes=n)
            rows.append(
                Event(visitor_id=visitor, item_id="", kind=EventKind.EXPOSURE, ts=exposed,
                      context={"campaign": "spring", "arm": arm})
            )  # fmt: skip
            if n < buyers:
                rows.append(
                    Event(visitor_id=visitor, item_id="1", kind=EventKind.PURCHASE,
                          ts=exposed + timedelta(hours=2), context={"order": n, "price": "1"})
                )  # fmt: skip
    # A repeat exposure the next day is the same visitor; a purchase before exposure is not one.
    rows.append(
        Event(visitor_id="shown-0", item_id="", kind=EventKind.EXPOSURE,
              ts=start + timedelta(days=1), context={"campaign": "spring", "arm": "shown"})
    )  # fmt: skip
    rows.append(
        Event(visitor_id="holdout-150", item_id="1", kind=EventKind.PURCHASE,
              ts=start - timedelta(hours=1), context={"order": 999, "price": "1"})
    )  # fmt: skip
    Event.objects.bulk_create(rows)

    result = lift("spring", start - timedelta(hours=2), now)
    assert (result.shown_visitors, result.shown_buyers) == (400, 80)
    assert (result.holdout_visitors, result.holdout_buyers) == (200, 20)
    assert (result.shown_rate, result.holdout_rate) == (0.2, 0.1)
    c = result.comparison
    se = (0.2 * 0.8 / 400 + 0.1 * 0.9 / 200) ** 0.5
    assert c.difference == pytest.approx(0.1)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(0.1 / se))
    assert c.low == pytest.approx(0.1 - 1.959964 * se, rel=1e-5) and c.low > 0
    assert c.significant


def test_without_a_holdout_there_is_no_lift_to_claim():
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(visitor_id=f"v{n}", item_id="", kind=EventKind.EXPOSURE,
                  ts=now - timedelta(hours=1), context={"campaign": "all-in", "arm": "shown"})
            for n in range(10)
        ]
    )  # fmt: skip
    result = lift("all-in", now - timedelta(days=1), now)
    assert result.shown_visitors == 10 and result.holdout_visitors == 0
    assert not result.comparison.enough_data and not result.comparison.significant


def test_only_a_campaigns_token_lets_an_impression_or_click_come_without_a_product():
    shopper = visitor_client(visitor_id(3))
    shopper.get("/")
    slot_token = {"token": "trending.popular.0123456789ab"}
    assert beacon(shopper, {"kind": "click", "context": slot_token}) == 400
    assert beacon(shopper, {"kind": "view", "context": {"token": "campaign.x.0123456789ab"}}) == 400
    assert beacon(shopper, {"kind": "click", "context": {"token": "campaign.x.0123456789ab"}}) < 300
