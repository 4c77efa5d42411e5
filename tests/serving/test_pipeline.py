"""The serving pipeline: sources, exact filters, diversity, exactly N, reasons."""

from __future__ import annotations

import pytest

from recommendations.models import EventKind, Rule
from recommendations.serving.pipeline import Audience, UnknownItem, recommend
from recommendations.stores import get_store
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver
from recommendations.types import ReasonKind, Slot

from .conftest import ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(drain):
    """Record events the way the storefront does (stream and consumer in services mode)."""

    def run(item_ids, *, visitor="v1", user=None, kind=EventKind.VIEW):
        deliver(
            [
                EventRecord(
                    kind=int(kind), item_id=i, visitor_id=visitor, user_id=user.pk if user else None
                )
                for i in item_ids
            ]
        )
        drain()

    return run


def item_ids(result) -> list[str]:
    return [r.item.item_id for r in result]


def test_similar_uses_the_precomputed_list_then_backfills_to_exactly_n(record, catalogue):
    kitchen = ids(catalogue["Kitchen"])
    get_store().put_many({f"item:{kitchen[0]}:similar": [(kitchen[1], 0.9), (kitchen[2], 0.5)]})
    record(ids(catalogue["Toys"])[:3])
    result = recommend(Slot.SIMILAR, Audience(visitor_id="v2"), item_id=kitchen[0], limit=6)
    assert len(result) == 6
    assert item_ids(result)[:2] == [kitchen[1], kitchen[2]]
    assert result.items[0].reason.kind is ReasonKind.SIMILAR
    assert result.items[0].reason_text == f"Similar to {catalogue['Kitchen'][0].title}"
    assert kitchen[0] not in item_ids(result)
    assert [r.position for r in result] == list(range(1, 7))


def test_a_renamed_product_is_named_anew_in_the_next_lists_reasons(
    catalogue, django_capture_on_commit_callbacks
):
    kitchen = catalogue["Kitchen"]
    get_store().put_many({f"item:{kitchen[0].pk}:similar": [(str(kitchen[1].pk), 0.9)]})
    first = recommend(Slot.SIMILAR, Audience(visitor_id="v2"), item_id=str(kitchen[0].pk), limit=1)
    assert first.items[0].reason_text == f"Similar to {kitchen[0].title}"
    kitchen[0].title = "Cast-iron teapot"
    with django_capture_on_commit_callbacks(execute=True):
        kitchen[0].save()
    again = recommend(Slot.SIMILAR, Audience(visitor_id="v2"), item_id=str(kitchen[0].pk), limit=1)
    assert again.items[0].reason_text == "Similar to Cast-iron teapot"


def test_inactive_and_out_of_stock_items_never_appear(catalogue):
    kitchen = catalogue["Kitchen"]
    kitchen[1].active = False
    kitchen[1].save()
    kitchen[2].stock = 0
    kitchen[2].save()
    get_store().put_many(
        {f"item:{kitchen[0].pk}:similar": [(str(p.pk), 1.0) for p in kitchen[1:4]]}
    )
    result = recommend(Slot.SIMILAR, Audience(), item_id=str(kitchen[0].pk), limit=10)
    assert str(kitchen[1].pk) not in item_ids(result)
    assert str(kitchen[2].pk) not in item_ids(result)
    assert item_ids(result)[0] == str(kitchen[3].pk)


def test_cart_items_and_purchases_are_filtered(record, catalogue, django_user_model):
    user = django_user_model.objects.create_user("u1")
    toys = ids(catalogue["Toys"])
    record(toys[:1], user=user, kind=EventKind.PURCHASE)
    record(toys, visitor="others")
    result = recommend(Slot.TRENDING, Audience(user_id=user.pk, cart_item_ids=(toys[1],)), limit=18)
    assert toys[0] not in item_ids(result)
    assert toys[1] not in item_ids(result)
    assert len(result) == 16  # 18 products, minus the purchase and the cart item


def test_a_view_changes_for_you_on_the_next_request(record, catalogue):
    kitchen, garden = ids(catalogue["Kitchen"]), ids(catalogue["Garden"])
    get_store().put_many({f"item:{garden[0]}:similar": [(garden[3], 0.8), (garden[4], 0.7)]})
    before = recommend(Slot.FOR_YOU, Audience(visitor_id="fresh"), limit=4)
    record([garden[0]], visitor="fresh")
    after = recommend(Slot.FOR_YOU, Audience(visitor_id="fresh"), limit=4)
    assert item_ids(after)[:2] == [garden[3], garden[4]]
    assert after.items[0].reason.kind is ReasonKind.BECAUSE_VIEWED
    assert after.items[0].reason.about == garden[0]
    assert item_ids(before) != item_ids(after)
    assert kitchen  # catalogue has more than the list; backfill fills the rest
    assert len(after) == 4


def test_category_cap_keeps_lists_diverse(catalogue, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "MAX_CATEGORY_SHARE": 0.5}
    kitchen = ids(catalogue["Kitchen"])
    get_store().put_many(
        {f"item:{kitchen[0]}:similar": [(i, 1.0 - n / 10) for n, i in enumerate(kitchen[1:])]}
    )
    result = recommend(Slot.SIMILAR, Audience(), item_id=kitchen[0], limit=4)
    categories = [r.item.category for r in result]
    assert categories.count("Kitchen") == 2
    assert len(result) == 4


def test_recently_viewed_is_not_backfilled(record, catalogue):
    toys = ids(catalogue["Toys"])
    record(toys[:2], visitor="v3")
    result = recommend(Slot.RECENTLY_VIEWED, Audience(visitor_id="v3"), limit=8)
    assert sorted(item_ids(result)) == sorted(toys[:2])


def test_buy_again_lists_the_users_purchases(record, catalogue, django_user_model):
    user = django_user_model.objects.create_user("u2")
    garden = ids(catalogue["Garden"])
    record([garden[0], garden[1], garden[1]], user=user, kind=EventKind.PURCHASE)
    result = recommend(Slot.BUY_AGAIN, Audience(user_id=user.pk), limit=8)
    assert item_ids(result) == [garden[1], garden[0]]
    assert result.items[0].reason_text == "Buy it again"


def test_pinned_item_is_placed_and_excluded_items_never_appear(record, catalogue):
    kitchen, garden = ids(catalogue["Kitchen"]), ids(catalogue["Garden"])
    record(kitchen * 3)
    Rule.objects.create(name="pin", action="pin", item_id=garden[5], position=2)
    Rule.objects.create(name="no toys", action="exclude", category="Toys")
    result = recommend(Slot.TRENDING, Audience(), limit=8)
    assert item_ids(result)[1] == garden[5]
    assert result.items[1].reason.kind is ReasonKind.PINNED
    assert "Toys" not in {r.item.category for r in result}
    assert len(result) == 8


def test_unknown_item_is_an_error(catalogue):
    with pytest.raises(UnknownItem):
        recommend(Slot.SIMILAR, Audience(), item_id="999999")


def test_a_pin_never_shows_the_current_item_or_the_cart(catalogue):
    kitchen = ids(catalogue["Kitchen"])
    Rule.objects.create(name="pin current", action="pin", item_id=kitchen[0], position=1)
    Rule.objects.create(name="pin cart", action="pin", item_id=kitchen[1], position=2)
    result = recommend(
        Slot.SIMILAR, Audience(cart_item_ids=(kitchen[1],)), item_id=kitchen[0], limit=5
    )
    assert kitchen[0] not in item_ids(result)
    assert kitchen[1] not in item_ids(result)
    assert len(result) == 5
