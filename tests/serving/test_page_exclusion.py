"""Lists on one page do not repeat each other: the template tag remembers what the page shows,
the API takes ``exclude``; both keep lists exactly N when the catalogue allows. Slots whose own
source has nothing say so in their heading, or hide."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.template import Context, Template
from django.test import Client, RequestFactory

from recommendations.models import Event, PrecomputedList
from recommendations.serving.pipeline import MAX_EXCLUDE, Audience, recommend
from recommendations.stores import get_store
from shop.models import Product

from .conftest import ids

pytestmark = pytest.mark.django_db

URL = "/recommendations/api/recommendations/{}/"


def page(source: str, request, **context) -> str:
    return Template("{% load recommendations %}" + source).render(
        Context({"request": request, **context})
    )


def anonymous(rf: RequestFactory):
    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = {}
    return request


def slot_items(html: str, slot: str) -> list[str]:
    return re.findall(rf'data-rec-item="(\d+)" data-rec-slot="{slot}"', html)


@pytest.fixture
def everything_trending(catalogue):
    """All 18 products trending and popular, best first, the categories taking turns (so that
    the category cap keeps every window of the ranking in order)."""
    every = [p for row in zip(*catalogue.values(), strict=True) for p in row]
    ranked = [(str(p.pk), float(len(every) - n)) for n, p in enumerate(every)]
    get_store().put_many({"trending": ranked, "popular": ranked})
    return [item for item, _ in ranked]


def test_later_slots_leave_out_what_earlier_ones_showed(rf, everything_trending):
    html = page(
        '{% recommendations "trending" limit=5 title="A" %}'
        '{% recommendations "trending" limit=5 title="B" %}'
        '{% recommendations "similar" item=first limit=5 title="C" %}',
        anonymous(rf),
        first=everything_trending[0],
    )
    first, second = html.split("<h2>B</h2>")
    a, b = slot_items(first, "trending"), slot_items(second, "trending")
    c = slot_items(second, "similar")
    assert a == everything_trending[:5]
    assert b == everything_trending[5:10]
    assert len(c) == 5  # exactly N, from what is left
    assert not {*a, *b} & set(c) and everything_trending[0] not in c


def test_the_stores_own_grids_join_in_and_opting_out_repeats(rf, everything_trending):
    shown = list(Product.objects.filter(pk__in=everything_trending[:3]))
    html = page(
        "{% recommendations_shown grid %}{% recommendations_shown single %}"
        '{% recommendations "trending" limit=4 title="A" %}'
        '{% recommendations "trending" limit=4 title="B" exclude_shown=False %}',
        anonymous(rf),
        grid=shown,
        single=everything_trending[3],
    )
    first, second = html.split("<h2>B</h2>")
    assert slot_items(first, "trending") == everything_trending[4:8]
    assert slot_items(second, "trending") == everything_trending[:4]


def test_a_cached_fragment_still_marks_its_items_on_the_next_page(rf, everything_trending):
    source = (
        '{% recommendations "trending" limit=4 title="A" %}'
        '{% recommendations "trending" limit=4 title="B" %}'
    )
    first = page(source, anonymous(rf))
    again = page(source, anonymous(rf))  # both fragments come from the cache now
    assert again.count("data-rec-item") == first.count("data-rec-item") == 8
    assert slot_items(again, "trending") == slot_items(first, "trending")
    a, b = again.split("<h2>B</h2>")
    assert not set(slot_items(a, "trending")) & set(slot_items(b, "trending"))


def test_home_page_shows_no_product_twice(client, catalogue, everything_trending):
    html = client.get("/").content.decode()
    cards = re.findall(r'class="product-card-link" href="/products/(\d+)/"', html)
    assert len(cards) >= 8
    assert len(cards) == len(set(cards))


def test_cached_fragments_carry_each_visitors_own_csrf_token(catalogue, everything_trending):
    """Recommendation cards have an Add to cart form; a cached fragment must not hand one
    visitor's CSRF token to the next."""
    product = catalogue["Garden"][0]
    for _ in range(2):
        browser = Client(enforce_csrf_checks=True)
        html = browser.get(f"/products/{product.pk}/").content.decode()
        forms = re.findall(
            r'data-rec-slot="similar".*?action="/cart/add/(\d+)/".*?'
            r'name="csrfmiddlewaretoken" value="([^"]+)"',
            html,
            flags=re.S,
        )
        assert forms, "no Add to cart form on a recommendation card"
        item, token = forms[0]
        response = browser.post(
            f"/cart/add/{item}/",
            {"quantity": 1, "next": f"/products/{product.pk}/", "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302, response.status_code
        assert browser.session["shop_cart"] == {item: 1}


def test_a_slot_whose_source_has_nothing_does_not_claim_to(rf, catalogue, everything_trending):
    kitchen = ids(catalogue["Kitchen"])
    request = anonymous(rf)
    hidden = page(
        '{% recommendations "bought-together" item=item limit=4 title="Often bought together" '
        'fallback_title="" %}',
        request,
        item=kitchen[0],
    )
    assert hidden.strip() == ""
    default = page(
        '{% recommendations "bought-together" item=item limit=4 title="Often bought together" %}',
        anonymous(rf),
        item=kitchen[0],
    )
    assert "Often bought together" not in default and "Popular right now" in default
    cache.clear()  # fragments are cached for TEMPLATE_CACHE_SECONDS (in Redis: before the list)
    get_store().put_many({f"item:{kitchen[0]}:bought-together": [(kitchen[2], 1.0)]})
    served = page(
        '{% recommendations "bought-together" item=item limit=4 title="Often bought together" '
        'fallback_title="" %}',
        anonymous(rf),
        item=kitchen[0],
    )
    assert "Often bought together" in served
    assert "Bought together with" in served


def test_recommend_excludes_exactly_and_still_fills_the_list(everything_trending):
    excluded = everything_trending[:10]
    result = recommend("trending", Audience(visitor_id="v"), limit=8, exclude=excluded)
    assert [r.item.item_id for r in result] == everything_trending[10:18]


def test_api_exclude_leaves_items_out_and_keeps_the_count(client, everything_trending):
    response = client.get(
        URL.format("trending"),
        {"limit": 5, "exclude": ",".join(everything_trending[:3])},
    )
    assert response.status_code == 200
    assert [i["item_id"] for i in response.json()["items"]] == everything_trending[3:8]
    repeated = client.get(
        URL.format("trending") + f"?limit=5&exclude={everything_trending[0]}"
        f"&exclude={everything_trending[1]}"
    )
    assert [i["item_id"] for i in repeated.json()["items"]] == everything_trending[2:7]


@pytest.mark.parametrize(
    "value",
    [
        "1,,2",
        ",",
        "",
        "x" * 101,
        "1, 2",
        ",".join(str(n) for n in range(MAX_EXCLUDE + 1)),
    ],
)
def test_api_bad_exclude_is_400_naming_it_and_stores_nothing(client, everything_trending, value):
    lists = list(PrecomputedList.objects.values_list("key", "items"))
    response = client.get(URL.format("trending"), {"exclude": value})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["exclude"] and body["exclude"][0]
    assert not Event.objects.exists()
    assert list(PrecomputedList.objects.values_list("key", "items")) == lists


def test_api_accepts_the_documented_maximum(client, everything_trending):
    value = ",".join([*everything_trending[:3], *(f"gone-{n}" for n in range(MAX_EXCLUDE - 3))])
    response = client.get(URL.format("trending"), {"exclude": value, "limit": 4})
    assert response.status_code == 200
    assert [i["item_id"] for i in response.json()["items"]] == everything_trending[3:7]


def test_exclude_is_in_the_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/recommendations/api/recommendations/{slot}/"]["get"][
        "parameters"
    ]
    exclude = next(p for p in parameters if p["name"] == "exclude")
    assert str(MAX_EXCLUDE) in exclude["description"]
