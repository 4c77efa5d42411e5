"""Each condition kind, on hand-built events: who is in, who is not, and the reason given."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from recommendations.marketing.segments import rebuild_segments
from recommendations.models import (
    ConditionKind,
    EventKind,
    MatchMode,
    Segment,
    SegmentCondition,
    SegmentMember,
)
from recommendations.stores import get_store

from .segment_support import DAY, HOUR, Catalogue, event, make_catalogue, purchase, segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db: None) -> Catalogue:
    return make_catalogue()


def members(of: Segment) -> dict[str, list[str]]:
    """The segment's stored members after a full rebuild, with their reasons."""
    summary = rebuild_segments([of.pk])
    assert not summary.failed
    return dict(SegmentMember.objects.filter(segment=of).values_list("member", "reasons"))


def test_viewed_a_category_often_and_bought_nothing_from_it(catalogue):
    pot, pan, _ = catalogue.kitchen
    for ago in (HOUR, 2 * HOUR, 3 * DAY):
        event("often", EventKind.VIEW, pot, ago)
        event("bought-it", EventKind.VIEW, pan, ago)
        event(7, EventKind.VIEW, pan, ago)
        event("long-ago", EventKind.VIEW, pot, ago + 10 * DAY)
    event("twice", EventKind.VIEW, pot, HOUR)
    event("twice", EventKind.VIEW, pan, HOUR)
    purchase("bought-it", pot, order=1, ago=HOUR)
    purchase(7, catalogue.garden[0], order=2, ago=HOUR)  # bought, but not from the kitchen
    for _ in range(3):
        event("garden", EventKind.VIEW, catalogue.garden[1], HOUR)

    found = members(
        segment(
            {"kind": ConditionKind.VIEWED_CATEGORY, "category": "kitchen", "count": 3, "days": 7}
        )
    )

    assert set(found) == {"v:often", "7"}
    assert found["v:often"] == [
        "Viewed kitchen 3 times in the last 7 days and bought nothing from it."
    ]


def test_cart_abandoners_added_to_cart_and_placed_no_order_within_h_hours(catalogue):
    pot = catalogue.kitchen[0]
    event("abandoned", EventKind.ADD_TO_CART, pot, 3 * HOUR)
    event("ordered", EventKind.ADD_TO_CART, pot, 3 * HOUR)
    purchase("ordered", pot, order=1, ago=HOUR)
    event("still-shopping", EventKind.ADD_TO_CART, pot, HOUR)
    event(8, EventKind.ADD_TO_CART, pot, 5 * HOUR)
    purchase(8, pot, order=2, ago=4 * HOUR)
    event(8, EventKind.ADD_TO_CART, pot, 3 * HOUR)  # a new cart after that order
    event("viewer", EventKind.VIEW, pot, 5 * HOUR)

    found = members(segment({"kind": ConditionKind.CART_ABANDONED, "hours": 2}))

    assert set(found) == {"v:abandoned", "8"}
    assert found["v:abandoned"][0].startswith("Added to cart 3 hours ago (")
    assert found["v:abandoned"][0].endswith("and placed no order within 2 hours.")


def test_cart_abandoners_of_the_last_d_days_only_when_d_is_set(catalogue):
    pot = catalogue.kitchen[0]
    event("recent", EventKind.ADD_TO_CART, pot, 3 * HOUR)
    event("last-month", EventKind.ADD_TO_CART, pot, 30 * DAY)

    assert set(members(segment({"kind": ConditionKind.CART_ABANDONED, "hours": 2}))) == {
        "v:recent",
        "v:last-month",
    }
    SegmentCondition.objects.update(days=7)
    assert set(members(Segment.objects.get())) == {"v:recent"}


def test_lapsed_buyers_placed_k_orders_then_none_for_d_days(catalogue):
    pot, pan, _ = catalogue.kitchen
    purchase(1, pot, order=10, ago=90 * DAY)
    purchase(1, pan, order=11, ago=40 * DAY)
    purchase(1, pot, order=11, ago=40 * DAY)  # a second line of the same order
    purchase(2, pot, order=20, ago=40 * DAY)  # one order only
    purchase(3, pot, order=30, ago=90 * DAY)
    purchase(3, pan, order=31, ago=10 * DAY)  # still buying
    purchase("guest", pot, order=40, ago=60 * DAY)
    purchase("guest", pan, order=41, ago=50 * DAY)

    found = members(segment({"kind": ConditionKind.LAPSED_BUYER, "orders": 2, "days": 30}))

    assert set(found) == {"1", "v:guest"}
    assert found["1"][0].startswith("Placed 2 orders, the last 40 days ago (")
    assert found["1"][0].endswith("none in the last 30 days.")


def test_cancelled_and_refunded_orders_do_not_count(catalogue):
    from shop.models import Order

    pot = catalogue.kitchen[0]
    kept, refunded = (
        Order.objects.create(number=f"N{i}", status=status)
        for i, status in enumerate((Order.Status.PAID, Order.Status.REFUNDED))
    )
    purchase("returner", pot, order=kept.pk, ago=40 * DAY, price="10.00")
    purchase("returner", pot, order=refunded.pk, ago=35 * DAY, quantity=5, price="90.00")
    purchase("steady", pot, order=kept.pk + 100, ago=32 * DAY, price="20.00")
    lapsed = segment({"kind": ConditionKind.LAPSED_BUYER, "orders": 2, "days": 30}, key="lapsed")
    spenders = segment(
        {"kind": ConditionKind.HIGH_VALUE, "percent": 50, "days": 60}, key="spenders"
    )

    assert members(lapsed) == {}
    assert set(members(spenders)) == {"v:steady"}


def test_high_value_is_the_top_p_percent_of_buyers_by_revenue_in_d_days(catalogue):
    pot = catalogue.kitchen[0]
    purchase("a", pot, order=1, ago=DAY, quantity=2, price="50.00")  # 100
    purchase("b", pot, order=2, ago=DAY, price="30.00")
    purchase("b", pot, order=3, ago=2 * DAY, price="30.00")  # 60
    purchase("c", pot, order=4, ago=DAY, price="20.00")
    purchase("d", pot, order=5, ago=DAY, price="10.00")
    purchase("d", pot, order=6, ago=60 * DAY, quantity=10, price="100.00")  # outside D days

    found = members(segment({"kind": ConditionKind.HIGH_VALUE, "percent": 50, "days": 30}))

    assert set(found) == {"v:a", "v:b"}
    assert found["v:a"] == [
        "Spent GBP 100.00 in the last 30 days, in the top 50 % of 4 buyers (from GBP 60.00)."
    ]


def test_viewed_item_x_in_d_days(catalogue):
    pot, pan, _ = catalogue.kitchen
    event("saw-it", EventKind.VIEW, pot, HOUR)
    event("saw-it", EventKind.VIEW, pot, 2 * HOUR)
    event(5, EventKind.VIEW, pot, DAY)
    event("other", EventKind.VIEW, pan, HOUR)
    event("too-long-ago", EventKind.VIEW, pot, 8 * DAY)
    event("carted", EventKind.ADD_TO_CART, pot, HOUR)

    found = members(segment({"kind": ConditionKind.VIEWED_ITEM, "item_id": str(pot.pk), "days": 7}))

    assert set(found) == {"v:saw-it", "5"}
    assert found["v:saw-it"] == ['Viewed "Kitchen thing 0" twice in the last 7 days.']


def test_for_you_category_reads_whether_the_stored_list_is_led_by_category_c(catalogue):
    users = get_user_model().objects
    ann, bob, cy = (users.create_user(name) for name in ("ann", "bob", "cy"))
    pot, garden = catalogue.kitchen[0], catalogue.garden[0]
    get_store().put_many(
        {
            f"user:{ann.pk}": [(str(pot.pk), 0.9), (str(garden.pk), 0.5)],
            f"user:{bob.pk}": [(str(garden.pk), 0.9), (str(pot.pk), 0.5)],
            f"user:{cy.pk}": [],
        },
        model_version="itemknn-1",
    )

    found = members(segment({"kind": ConditionKind.FOR_YOU_CATEGORY, "category": "Kitchen"}))

    assert found == {str(ann.pk): ['Their for-you list is led by "Kitchen thing 0" (Kitchen).']}


def test_all_needs_every_condition_and_any_needs_one(catalogue):
    pot = catalogue.kitchen[0]
    event("both", EventKind.VIEW, pot, HOUR)
    event("both", EventKind.ADD_TO_CART, pot, 3 * HOUR)
    event("viewer", EventKind.VIEW, pot, HOUR)
    event("carter", EventKind.ADD_TO_CART, catalogue.garden[0], 3 * HOUR)
    conditions = (
        {"kind": ConditionKind.VIEWED_ITEM, "item_id": str(pot.pk), "days": 1},
        {"kind": ConditionKind.CART_ABANDONED, "hours": 2},
    )

    every = members(segment(*conditions, match=MatchMode.ALL, key="every"))
    either = members(segment(*conditions, match=MatchMode.ANY, key="either"))

    assert set(every) == {"v:both"}
    assert len(every["v:both"]) == 2  # one reason per condition, in the conditions' order
    assert every["v:both"][0].startswith("Viewed") and every["v:both"][1].startswith("Added")
    assert set(either) == {"v:both", "v:viewer", "v:carter"}
    assert either["v:viewer"] == ['Viewed "Kitchen thing 0" once in the last 1 day.']
