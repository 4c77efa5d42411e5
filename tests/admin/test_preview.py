"""Preview as a customer: every slot as the person would get it, beside it without rules; staff
with the preview permission only, and every preview logged."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.test import Client

from recommendations.stores import get_store
from recommendations.types import Slot

pytestmark = pytest.mark.django_db
URL = "/admin/recommendations/rule/preview/"
API = "/recommendations/api/recommendations/{}/"


def _ids(products) -> list[str]:
    return [str(p.pk) for p in products]


def test_the_preview_shows_each_slot_with_reasons_rules_and_without_rules(
    merch_client, shopper, catalogue, ann_has_history
):
    response = merch_client.get(URL, {"user": shopper.pk})
    assert response.status_code == 200
    comparisons = {c.slot: c for c in response.context["comparisons"]}
    assert set(comparisons) == set(Slot)
    for_you = comparisons[Slot.FOR_YOU]
    kitchen = _ids(catalogue["Kitchen & Dining"])
    first = for_you.rows[0]
    assert first.served.item.item_id == kitchen[3]
    assert [rule.name for rule in first.rules] == ["Push the teapot"]
    assert first.unruled.item.item_id == kitchen[0]  # without rules the model's order
    assert first.served.source and first.served.reason_text
    content = response.content.decode()
    assert "Push the teapot" in content and "Kitchen &amp; Dining thing 3" in content
    assert "ann" in content
    # Her recent history, by product name.
    assert [entry.item.title for entry in response.context["history"]] == ["Garden thing 0"]
    assert not any(
        entry.item.category == "Toys" for c in comparisons.values() for entry in c.served
    )


def test_the_preview_shows_what_the_api_gives_that_user(
    merch_client, merchandiser, shopper, ann_has_history
):
    preview = merch_client.get(URL, {"user": shopper.pk})
    comparisons = {c.slot: c for c in preview.context["comparisons"]}
    for slot in (Slot.FOR_YOU, Slot.RECENTLY_VIEWED, Slot.TRENDING):
        api = merch_client.get(API.format(slot.value), {"as_user": shopper.pk})
        assert api.status_code == 200
        assert [entry.item.item_id for entry in comparisons[slot].served] == [
            item["item_id"] for item in api.json()["items"]
        ], slot


def test_a_product_page_and_a_cart(merch_client, shopper, catalogue, ann_has_history):
    garden = _ids(catalogue["Garden"])
    get_store().put_many({f"item:{garden[0]}:similar": [(garden[1], 1.0), (garden[2], 0.5)]})
    response = merch_client.get(URL, {"user": shopper.pk, "item": garden[0], "cart": [garden[2]]})
    assert response.status_code == 200, response.context["form"].errors
    similar = next(c for c in response.context["comparisons"] if c.slot is Slot.SIMILAR)
    shown = [entry.item.item_id for entry in similar.served]
    assert shown[:2] == [str(catalogue["Kitchen & Dining"][3].pk), garden[1]]  # the pin, then
    assert garden[0] not in shown and garden[2] not in shown  # the page's item, the cart
    content = response.content.decode()
    assert "on the page of Garden thing 0" in content and "Cart: Garden thing 2" in content


def test_the_search_box_finds_people_by_email_username_and_visitor(
    merch_client, shopper, ann_has_history
):
    by_email = merch_client.get(URL, {"q": "ann@example.com"})
    assert by_email.context["person"].user_id == shopper.pk  # one match: shown at once
    by_name = merch_client.get(URL, {"q": "an"})
    assert any(person.user_id == shopper.pk for person, _ in by_name.context["people"])
    link = next(link for person, link in by_name.context["people"] if person.user_id == shopper.pk)
    assert f"user={shopper.pk}" in link
    by_visitor = merch_client.get(URL, {"q": "v-ann"})
    labels = [person.label for person, _ in by_visitor.context["people"]]
    assert "Visitor v-ann" in labels


def test_every_preview_is_logged_to_the_logger_and_admin_history(
    merch_client, merchandiser, shopper, ann_has_history, caplog
):
    with caplog.at_level(logging.INFO, logger="recommendations.preview"):
        merch_client.get(URL, {"user": shopper.pk})
    assert "merch <merch@example.com> previewed recommendations of ann <ann@example.com>" in (
        caplog.text
    )
    entry = LogEntry.objects.get(object_id=str(shopper.pk))
    assert entry.user == merchandiser
    assert entry.content_type.model_class() is User
    assert "Previewed recommendations" in entry.get_change_message()


def test_the_preview_is_refused_without_the_permission(clerk_client, shopper, ann_has_history):
    assert clerk_client.get(URL, {"user": shopper.pk}).status_code == 403
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_the_preview_sends_non_staff_to_the_login(who, shopper, ann_has_history):
    client = Client()
    if who == "shopper":
        client.force_login(shopper)
    response = client.get(URL, {"user": shopper.pk})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_preview_is_linked_from_the_rule_list_for_those_who_may(merch_client, clerk_client):
    assert URL.encode() in merch_client.get("/admin/recommendations/rule/").content
    assert URL.encode() not in clerk_client.get("/admin/recommendations/rule/").content
