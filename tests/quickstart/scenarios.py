"""What a store gets from the quick start alone, asked the way its pages and apps ask.

Run by ``test_quickstart.py`` in a child pytest under ``tests.quickstart.settings`` (not collected by
the main run: the name does not start with ``test_``). Events are produced by the store's own
pages and checkout signals; neighbour lists are written as a trained model would write them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.serving import catalog_cache
from recommendations.stores import get_store
from recommendations.types import Slot
from tests.quickstart.catalogue.models import Category, Product

pytestmark = pytest.mark.django_db(transaction=True)

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ITEM_SLOTS = (Slot.SIMILAR, Slot.ALSO_VIEWED, Slot.BOUGHT_TOGETHER)


@dataclass
class Store:
    products: dict[str, list[Product]]
    sold_out: Product
    hidden: Product
    shopper: Client

    def ids(self, category: str) -> list[str]:
        return [str(p.pk) for p in self.products[category]]


def forget_live_state() -> None:
    """Services mode: drop the app's Redis keys (stream, live counters, stored lists)."""
    if app_settings.services_mode:
        client = redis_client.get_redis(timeout=2.0)
        keys = list(client.scan_iter(f"{app_settings.KEY_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """No lists, counters or cached popularity left from another test."""
    redis_client.reset()
    forget_live_state()
    cache.clear()
    catalog_cache.cache.clear()
    yield
    cache.clear()
    catalog_cache.cache.clear()
    redis_client.reset()


def drain() -> None:
    """Services mode: store what the pages queued, as the ingest consumer beside them would."""
    if app_settings.services_mode:
        from recommendations.tracking.ingest import Consumer

        Consumer("quickstart").run(until_idle=True)
    cache.clear()


def visitor() -> Client:
    return Client(HTTP_USER_AGENT=BROWSER)


def view(client: Client, *products: Product) -> None:
    for product in products:
        assert client.get(product.get_absolute_url()).status_code == 200


def buy(client: Client, *products: Product) -> None:
    for product in products:
        response = client.post(reverse("catalogue:buy", args=[product.pk]))
        assert response.status_code == 200


@pytest.fixture
def store() -> Store:
    """Three categories of six; the two most wanted Kitchen products are sold out and hidden.

    Kitchen leads the store's trending (10 views of each other Kitchen product), Garden's own
    trending runs garden[0] > [1] > [2] (6, 4, 2 views), and the signed-in shopper viewed and
    bought the two unavailable products. No visitor comes near the bot burst limit.
    """
    products = {}
    for name in ("Kitchen", "Garden", "Toys"):
        category = Category.objects.create(name=name)
        products[name] = [
            Product.objects.create(
                name=f"{name} thing {i}",
                category=category,
                price=Decimal("5.00") + i,
                quantity=5,
            )
            for i in range(6)
        ]
    kitchen, garden, toys = products["Kitchen"], products["Garden"], products["Toys"]
    sold_out, hidden = kitchen[0], kitchen[1]
    for n in range(10):
        client = visitor()
        view(client, sold_out, hidden, *kitchen[2:6], *garden[: max(0, 3 - n // 2)], toys[n % 5])
        buy(client, sold_out, hidden)
    shopper = visitor()
    shopper.force_login(get_user_model().objects.create_user("shopper"))
    view(shopper, hidden, sold_out, garden[4])
    buy(shopper, sold_out, hidden, toys[5])
    drain()
    sold_out.quantity = 0
    sold_out.save()
    hidden.published = False
    hidden.save()
    # A model trained on this traffic would list the two as every product's closest neighbours.
    unavailable = [(str(sold_out.pk), 1.0), (str(hidden.pk), 0.9)]
    get_store().put_many(
        {
            f"item:{p.pk}:{relation}": unavailable
            for p in kitchen + garden
            for relation in ("similar", "also-viewed", "bought-together")
        }
    )
    return Store(products, sold_out, hidden, shopper)


def slot_items(client: Client, slot: Slot, item: Product | None = None, limit: int = 8) -> list:
    params = {"limit": limit} | ({"item": item.pk} if item is not None else {})
    response = client.get(reverse("recommendations:recommendations", args=[slot.value]), params)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_the_quickstart_passes_the_system_checks():
    # W003 describes the suite's own Redis (a throwaway without AOF), not the quick start.
    messages = [m for m in checks.run_checks() if m.id and m.id.startswith("recommendations.")]
    assert [m for m in messages if m.id != "recommendations.W003"] == []


def test_the_beacon_accepts_a_batch():
    """Step 6's script posts here; the store set no throttle rates for it."""
    category = Category.objects.create(name="Toys")
    product = Product.objects.create(name="Kite", category=category, price=Decimal(9), quantity=1)
    event = {"event_id": str(uuid.uuid4()), "kind": "click", "item_id": str(product.pk)}
    response = visitor().post(
        reverse("recommendations:events"), {"events": [event]}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 1


def test_sold_out_and_hidden_products_never_appear_in_any_slot(store):
    unavailable = {str(store.sold_out.pk), str(store.hidden.pk)}
    anonymous = visitor()
    kitchen = store.products["Kitchen"]
    asked = 0
    for client in (store.shopper, anonymous):
        for slot in Slot:
            for item in (kitchen[3], None) if slot in ITEM_SLOTS else (None,):
                shown = {entry["item_id"] for entry in slot_items(client, slot, item)}
                assert not shown & unavailable, (slot, item)
                asked += 1
    assert asked == 20
    page = anonymous.get(kitchen[3].get_absolute_url()).content.decode()
    assert kitchen[2].name in page  # the slot rendered
    assert store.sold_out.name not in page
    assert store.hidden.name not in page

    # Back in stock and shown again, the same traffic puts them first.
    store.sold_out.quantity = 3
    store.sold_out.save()
    store.hidden.published = True
    store.hidden.save()
    cache.clear()
    trending = [entry["item_id"] for entry in slot_items(visitor(), Slot.TRENDING)]
    assert set(trending[:2]) == unavailable
    similar = [entry["item_id"] for entry in slot_items(visitor(), Slot.SIMILAR, kitchen[3])]
    assert similar[:2] == [str(store.sold_out.pk), str(store.hidden.pk)]
    recent = [entry["item_id"] for entry in slot_items(store.shopper, Slot.RECENTLY_VIEWED)]
    assert unavailable <= set(recent)
    again = [entry["item_id"] for entry in slot_items(store.shopper, Slot.BUY_AGAIN)]
    assert unavailable <= set(again)


def test_one_category_takes_at_most_its_share_of_a_list(store):
    assert app_settings.MAX_CATEGORY_SHARE == 0.5
    trending = slot_items(visitor(), Slot.TRENDING, limit=4)
    categories = [entry["category"] for entry in trending]
    assert len(trending) == 4
    assert categories[:1] == ["Kitchen"]  # Kitchen leads the traffic ...
    assert categories.count("Kitchen") == 2  # ... and takes half of the list


def test_a_product_without_neighbours_is_shown_its_categorys_trending(store):
    garden = store.products["Garden"]
    items = slot_items(visitor(), Slot.SIMILAR, garden[5], limit=4)
    assert [entry["item_id"] for entry in items[:2]] == store.ids("Garden")[:2]
    assert items[0]["reason"]["kind"] == "trending"
    assert items[0]["reason"]["about"] == "Garden"
    assert items[0]["category"] == "Garden"


def test_new_store_fallback_skips_unavailable_products(store):
    """With no traffic at all a list is filled from the catalogue, never with what cannot sell."""
    from recommendations.models import Event

    Event.objects.all().delete()
    forget_live_state()
    cache.clear()
    shown = [entry["item_id"] for entry in slot_items(visitor(), Slot.TRENDING, limit=18)]
    assert len(shown) == 16  # every product that can sell
    assert str(store.sold_out.pk) not in shown
    assert str(store.hidden.pk) not in shown
