"""The campaign endpoint and template tag: what a visitor is shown, and what a client may ask."""

from __future__ import annotations

import pytest

from recommendations.models import Event, EventKind

from .campaign_support import (
    TOKEN,
    URL,
    _fresh_campaign_caches,  # noqa: F401  (autouse)
    campaign,
    products,
    segment,
    visitor_client,
    visitor_id,
)

pytestmark = pytest.mark.django_db


def test_a_segment_member_gets_the_banner_and_others_none():
    member = visitor_id(1)
    campaign(
        "welcome-back",
        segment("lapsed", member),
        headline="We missed you: 10% off",
        link_url="/sale/",
        coupon_code="BACK10",
    )
    body = visitor_client(member).get(URL).json()["campaign"]
    assert {k: body[k] for k in ("key", "name", "content", "headline", "link", "coupon_code")} == {
        "key": "welcome-back",
        "name": "Welcome Back",
        "content": "banner",
        "headline": "We missed you: 10% off",
        "link": "/sale/",
        "coupon_code": "BACK10",
    }
    assert body["items"] == [] and body["token"].startswith("campaign.welcome-back.")
    assert visitor_client(visitor_id(2)).get(URL).json() == {"campaign": None}


def test_a_product_list_shows_only_sellable_products_in_its_order():
    kettles = products(4)
    kettles[1].stock = 0
    kettles[1].save()
    keys = [str(kettles[3].pk), str(kettles[1].pk), str(kettles[0].pk), "999999"]
    campaign("kettles", content="products", item_ids=keys, headline="Kettle week")
    body = visitor_client(visitor_id(3)).get(URL).json()["campaign"]
    assert [i["item_id"] for i in body["items"]] == [str(kettles[3].pk), str(kettles[0].pk)]
    assert body["items"][0]["title"] == "Kettle 3" and body["items"][0]["price"] == "13.00"
    limited = visitor_client(visitor_id(4)).get(URL, {"limit": 1}).json()["campaign"]
    assert [i["item_id"] for i in limited["items"]] == [str(kettles[3].pk)]


def test_a_slot_campaign_shows_the_visitors_recommendations_for_that_slot():
    kettles = products(5)
    Event.objects.bulk_create(
        [Event(visitor_id="x", item_id=str(p.pk), kind=EventKind.PURCHASE) for p in kettles[:3]]
    )
    campaign("trending-now", content="slot", slot="trending", headline="Popular this week")
    body = visitor_client(visitor_id(5)).get(URL, {"limit": 3}).json()["campaign"]
    assert body["content"] == "slot"
    assert {i["item_id"] for i in body["items"]} == {str(p.pk) for p in kettles[:3]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"item": "x" * 65}, "item"),
    ],
)
def test_bad_query_parameters_are_refused_naming_them(params, field):
    campaign("everyone")
    response = visitor_client(visitor_id(6)).get(URL, params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_home_page_shows_a_members_banner_with_its_token_and_nobody_elses():
    member = visitor_id(7)
    campaign(
        "welcome-back", segment("lapsed", member), headline="We missed you", coupon_code="BACK10"
    )
    page = visitor_client(member).get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "We missed you" in html and "BACK10" in html and 'href="/sale/welcome-back/"' in html
    (token,) = TOKEN.findall(html)
    assert token.startswith("campaign.welcome-back.")
    assert 'data-rec-item=""' in html  # a banner: tracked without a product
    other = visitor_client(visitor_id(8)).get("/").content.decode()
    assert "We missed you" not in other and "data-rec-campaign" not in other


def test_products_a_campaign_shows_are_left_out_of_the_pages_later_slots():
    kettles = products(4)
    Event.objects.bulk_create(
        [Event(visitor_id="x", item_id=str(p.pk), kind=EventKind.PURCHASE) for p in kettles]
    )
    campaign("kettles", content="products", item_ids=[str(kettles[0].pk)], headline="Kettle week")
    html = visitor_client(visitor_id(9)).get("/").content.decode()
    assert html.count(f'data-rec-item="{kettles[0].pk}"') == 1


def test_a_stored_link_that_is_not_a_web_address_is_never_rendered():
    campaign("bad-link", link_url="javascript:alert(1)")
    client = visitor_client(visitor_id(10))
    assert client.get(URL).json()["campaign"]["link"] == ""
    assert "javascript:" not in client.get("/").content.decode()
