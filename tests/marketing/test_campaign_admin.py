"""Campaigns in admin: content checked per kind, segments by name, a performance page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.models import Campaign, Event, EventKind

from .campaign_support import (
    _fresh_campaign_caches,  # noqa: F401  (autouse)
    campaign,
    products,
    segment,
)

pytestmark = pytest.mark.django_db
ADD = "/admin/recommendations/campaign/add/"


def form(**fields) -> dict:
    data = {
        "key": "spring",
        "name": "Spring sale",
        "active": "on",
        "content": "banner",
        "headline": "Spring sale",
        "link_url": "/sale/",
        "coupon_code": "",
        "item_ids": "",
        "slot": "",
        "starts_at_0": "2026-03-01",
        "starts_at_1": "09:00:00",
        "ends_at_0": "",
        "ends_at_1": "",
        "priority": "0",
        "frequency_cap": "",
        "holdout_percent": "10",
    }
    return {**data, **fields}


def errors(response) -> dict[str, list[str]]:
    assert response.status_code == 200, "the form was accepted"
    return {name: list(errs) for name, errs in response.context["adminform"].form.errors.items()}


def test_a_valid_banner_is_saved(admin_client):
    lapsed = segment("lapsed")
    response = admin_client.post(ADD, form(segments=[lapsed.pk], coupon_code="SPRING"))
    assert response.status_code == 302
    saved = Campaign.objects.get(key="spring")
    assert list(saved.segments.all()) == [lapsed] and saved.coupon_code == "SPRING"


def test_a_banner_needs_its_text_and_link(admin_client):
    found = errors(admin_client.post(ADD, form(headline="", link_url="")))
    assert found == {
        "headline": ["A banner needs its banner text."],
        "link_url": ["A banner needs its link."],
    }


def test_a_link_must_be_a_path_or_a_web_address(admin_client):
    found = errors(admin_client.post(ADD, form(link_url="javascript:alert(1)")))
    assert list(found) == ["link_url"]


def test_a_product_list_names_the_unknown_products(admin_client):
    kettles = products(2)
    found = errors(
        admin_client.post(
            ADD, form(content="products", item_ids=f"{kettles[0].pk}, 98765, nope", headline="")
        )
    )
    assert found == {"item_ids": ["Unknown products: 98765, nope."]}
    empty = errors(admin_client.post(ADD, form(content="products", item_ids="")))
    assert list(empty) == ["item_ids"]
    ok = admin_client.post(
        ADD, form(content="products", item_ids=f"{kettles[1].pk},{kettles[0].pk}")
    )
    assert ok.status_code == 302
    assert Campaign.objects.get().item_ids == [str(kettles[1].pk), str(kettles[0].pk)]


def test_a_slot_campaign_needs_its_slot(admin_client):
    assert errors(admin_client.post(ADD, form(content="slot")))["slot"] == [
        "A recommendation slot campaign needs its slot."
    ]
    assert admin_client.post(ADD, form(content="slot", slot="trending")).status_code == 302


def test_the_period_must_end_after_it_starts(admin_client):
    found = errors(admin_client.post(ADD, form(ends_at_0="2026-02-01", ends_at_1="09:00:00")))
    assert list(found) == ["ends_at"] and "before it starts" in found["ends_at"][0]


def test_the_list_names_segments_and_links_to_performance(admin_client):
    campaign("vip-offer", segment("vips"), segment("lapsed"))
    campaign("all-offer")
    html = admin_client.get("/admin/recommendations/campaign/").content.decode()
    assert "Lapsed, Vips" in html and "Everyone" in html
    offer = Campaign.objects.get(key="vip-offer")
    assert reverse("admin:recommendations_campaign_performance", args=[offer.pk]) in html


def test_the_performance_page_shows_a_chart_a_table_and_the_lift(admin_client):
    offer = campaign("spring", holdout_percent=20)
    now = timezone.now()
    token = "campaign.spring.0123456789ab"
    Event.objects.bulk_create(
        [Event(visitor_id=f"s{n}", item_id="", kind=EventKind.IMPRESSION, context={"token": token})
         for n in range(8)]
        + [Event(visitor_id="s0", item_id="", kind=EventKind.CLICK, context={"token": token})]
        + [Event(visitor_id=f"{arm}{n}", item_id="", kind=EventKind.EXPOSURE,
                 ts=now - timedelta(hours=1), context={"campaign": "spring", "arm": arm})
           for arm in ("shown", "holdout") for n in range(5)]
    )  # fmt: skip
    url = reverse("admin:recommendations_campaign_performance", args=[offer.pk])
    response = admin_client.get(url, {"preset": "7"})
    assert response.status_code == 200
    assert len(response.context["daily_chart"]["labels"]) == 7
    assert response.context["report"].total.impressions == 8
    html = response.content.decode()
    assert "chart.umd.min.js" in html and "12.5%" in html  # CTR: 1 of 8
    assert "Not enough data for a lift yet" in html  # nobody bought: no variation to test
    bad = admin_client.get(url, {"preset": "custom", "since": "2026-05-01", "until": "2026-01-01"})
    assert bad.status_code == 200 and "after it ends" in bad.content.decode()
    assert (
        admin_client.get(
            reverse("admin:recommendations_campaign_performance", args=[9999])
        ).status_code
        == 404
    )
