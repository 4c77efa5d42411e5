"""Filters stay exact while serving processes keep a copy of catalogue lookups."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from recommendations.catalog import items_changed
from recommendations.serving.catalog_cache import cache
from recommendations.serving.pipeline import Audience, recommend
from recommendations.stores import get_store
from recommendations.types import Slot
from shop.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_copy(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "MAX_CATEGORY_SHARE": 1.0}
    cache.clear()
    yield
    cache.clear()


def similar(item_id: str) -> list[str]:
    return [r.item.item_id for r in recommend(Slot.SIMILAR, Audience(), item_id=item_id, limit=4)]


def test_saved_changes_reach_the_next_request(catalogue, django_assert_max_num_queries, settings):
    kitchen = catalogue["Kitchen"]
    get_store().put_many(
        {f"item:{kitchen[0].pk}:similar": [(str(p.pk), 1.0) for p in kitchen[1:5]]}
    )
    assert similar(str(kitchen[0].pk))[0] == str(kitchen[1].pk)
    if settings.SERVICES_MODE:
        with django_assert_max_num_queries(0):  # served from the versioned copy
            similar(str(kitchen[0].pk))
    kitchen[1].active = False
    kitchen[1].save()
    assert str(kitchen[1].pk) not in similar(str(kitchen[0].pk))


def test_bulk_updates_announced_with_items_changed_reach_the_next_request(catalogue):
    kitchen = catalogue["Kitchen"]
    get_store().put_many(
        {f"item:{kitchen[0].pk}:similar": [(str(p.pk), 1.0) for p in kitchen[1:5]]}
    )
    assert str(kitchen[2].pk) in similar(str(kitchen[0].pk))
    Product.objects.filter(pk=kitchen[2].pk).update(stock=0)
    items_changed()
    assert str(kitchen[2].pk) not in similar(str(kitchen[0].pk))


def test_an_item_sold_out_at_checkout_disappears_from_lists(catalogue):
    kitchen = catalogue["Kitchen"]
    get_store().put_many(
        {f"item:{kitchen[0].pk}:similar": [(str(p.pk), 1.0) for p in kitchen[1:5]]}
    )
    assert str(kitchen[3].pk) in similar(str(kitchen[0].pk))
    client = Client()
    client.post(reverse("shop:cart_add", kwargs={"pk": kitchen[3].pk}), {"quantity": 5})
    checkout = {
        "email": "a@example.com",
        "shipping_address": "2 Low Road, York",
        "name": "A",
        "card_number": "4242424242424242",
        "expiry": "12/39",
        "cvc": "123",
    }
    assert client.post(reverse("shop:checkout"), checkout).status_code == 302
    assert str(kitchen[3].pk) not in similar(str(kitchen[0].pk))
