"""Confirmed fraud and bots never train: the adapter's exclusions, training and trending."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.fraud.visitors import score_visitor_keys
from recommendations.models import (
    DecisionReason,
    Event,
    EventKind,
    ReviewStatus,
    RiskAssessment,
    RiskSubject,
)
from recommendations.popularity import computed_popularity
from recommendations.precompute import refresh_popularity
from recommendations.training import latest_state, train
from tests.training.helpers import START, make_events, stored

from .attacks import Traffic, card_testing, shilling

pytestmark = pytest.mark.django_db


def confirm(assessments, reason=DecisionReason.SHILLING) -> None:
    assessments.update(status=ReviewStatus.CONFIRMED, decision_reason=reason)


def test_confirmed_people_and_orders_are_excluded(django_capture_on_commit_callbacks):
    traffic = Traffic(seed=21)
    now = START + timedelta(days=40)
    attack = card_testing(traffic, now)
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()
    (order_id,) = attack.orders
    (visitor_key,) = attack.visitors
    catalog = get_catalog()
    assert order_id not in catalog.excluded_orders()
    assert visitor_key not in catalog.excluded_users()

    assessment = RiskAssessment.objects.filter(subject=RiskSubject.ORDER, key=order_id)
    confirm(assessment, DecisionReason.STOLEN_CARD)
    assert order_id in catalog.excluded_orders()
    assert visitor_key not in catalog.excluded_users()  # the card holder is the victim

    confirm(assessment, DecisionReason.CARD_TESTING)
    assert visitor_key in catalog.excluded_users()

    assessment.update(status=ReviewStatus.DISMISSED)
    assert order_id not in catalog.excluded_orders()
    assert visitor_key not in catalog.excluded_users()


def test_confirmed_shills_no_longer_push_their_item(django_capture_on_commit_callbacks):
    """Fake accounts view and buy item 777 with item 0: it tops trending and is bought with 0.
    Once staff confirm them, the next training and trending refresh leave them out."""
    make_events()
    traffic = Traffic(seed=22, now=START + timedelta(days=31))
    shills = shilling(traffic, traffic.now, target="777", partner="0", accounts=20)
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()
        score_visitor_keys(
            shills.visitors, since=traffic.now, until=traffic.now + timedelta(hours=4)
        )
        train("full")
    refresh_popularity()

    def pushed() -> dict[str, bool]:
        together = stored("item:0:bought-together")
        trending = stored("trending")
        return {
            "bought together": "777" in [item for item, _ in together.items] if together else False,
            "trending": "777" in [item for item, _ in trending.items[:5]],
            "trained": "777" in latest_state()[1].item_map.tolist(),
        }

    assert pushed() == {"bought together": True, "trending": True, "trained": True}
    orders = RiskAssessment.objects.filter(subject=RiskSubject.ORDER, key__in=shills.orders)
    visitors = RiskAssessment.objects.filter(subject=RiskSubject.VISITOR, key__in=shills.visitors)
    assert orders.exclude(status=ReviewStatus.OPEN).count() == 0
    assert visitors.filter(status=ReviewStatus.OPEN).count() == len(shills.visitors)

    confirm(visitors)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    refresh_popularity()

    assert pushed() == {"bought together": False, "trending": False, "trained": False}


@pytest.mark.parametrize("decay", [False, True], ids=["popular", "trending"])
def test_refunded_orders_and_confirmed_bots_do_not_make_items_popular(decay):
    from shop.models import Order

    orders = [Order.objects.create(number=f"R{n}", total=10) for n in range(3)]
    Event.objects.bulk_create(
        [
            Event(
                visitor_id=f"buyer-{n}",
                item_id="555",
                kind=EventKind.PURCHASE,
                context={"order": order.pk, "price": "10.00"},
            )
            for n, order in enumerate(orders)
        ]
        + [Event(visitor_id="bot", item_id="556", kind=EventKind.VIEW) for _ in range(40)]
        + [Event(visitor_id="person", item_id="557", kind=EventKind.VIEW)]
    )

    def ranked() -> list[str]:
        return [item for item, _ in computed_popularity(decay=decay, use_cache=False)]

    assert set(ranked()) == {"555", "556", "557"}
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(status=Order.Status.REFUNDED)
    RiskAssessment.objects.create(
        subject=RiskSubject.VISITOR,
        key="v:bot",
        visitor_id="bot",
        score=90,
        level="block",
        status=ReviewStatus.CONFIRMED,
        decision_reason=DecisionReason.BOT,
        scored_at=timezone.now(),
    )
    assert ranked() == ["557"]


@pytest.mark.services
def test_confirming_shills_takes_their_boost_off_the_live_trending_counters(
    django_capture_on_commit_callbacks,
):
    """Served trending reads the live counters the consumer keeps (the attack's events went
    through it): a confirmation takes the confirmed accounts' events back off them, so the
    pushed item drops out of the slot at once."""
    from django.contrib.auth import get_user_model

    from recommendations import redis_client
    from recommendations.fraud import review
    from recommendations.serving import sources
    from recommendations.tracking import live
    from recommendations.tracking.records import EventRecord

    traffic = Traffic(seed=23, now=timezone.now())
    shills = shilling(traffic, traffic.now, target="777", partner="0", accounts=20)
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()
    ordinary = [  # what the consumer adds for other shoppers' views
        EventRecord(kind=int(EventKind.VIEW), item_id=str(n % 5), visitor_id=f"shopper-{n}")
        for n in range(40)
    ]
    live.update(redis_client.get_redis(), ordinary)
    assert sources.trending(3)[0][0] == "777"

    with django_capture_on_commit_callbacks(execute=True):
        score_visitor_keys(
            shills.visitors, since=traffic.now, until=traffic.now + timedelta(hours=4)
        )
    staff = get_user_model().objects.create_user("risk", password="x" * 12)
    flagged = RiskAssessment.objects.filter(subject=RiskSubject.VISITOR, key__in=shills.visitors)
    assert flagged.count() == len(shills.visitors)
    with django_capture_on_commit_callbacks(execute=True):
        for assessment in flagged:
            review.confirm(assessment, staff, DecisionReason.SHILLING)

    assert "777" not in [item for item, _ in sources.trending(3)]


def test_a_left_out_persons_other_browsers_and_their_guest_orders_go_with_them(django_user_model):
    """A browser linked to a left-out account is the same person's: its signed-out events and
    its guest orders are left out however their rows were attributed; others' are not."""
    from recommendations.models import VisitorLink
    from recommendations.models.quarantine import QuarantinedVisitor

    bursting = django_user_model.objects.create_user(username="bursting")
    faker = django_user_model.objects.create_user(username="faker")
    honest = django_user_model.objects.create_user(username="honest")
    QuarantinedVisitor.objects.create(visitor_id="burst-browser", user=bursting)
    VisitorLink.objects.create(visitor_id="bursting-home", user=bursting)
    VisitorLink.objects.create(visitor_id="faker-home", user=faker)
    VisitorLink.objects.create(visitor_id="honest-home", user=honest)
    RiskAssessment.objects.create(
        subject=RiskSubject.ORDER,
        key="o-1",
        user=faker,
        score=90,
        level="high",
        scored_at=timezone.now(),
        status=ReviewStatus.CONFIRMED,
        decision_reason=DecisionReason.CARD_TESTING,
    )
    for visitor, order in (("faker-home", "o-2"), ("honest-home", "o-3")):
        Event.objects.create(
            kind=EventKind.PURCHASE, item_id="7", visitor_id=visitor, context={"order": order}
        )

    catalog = get_catalog()
    users = catalog.excluded_users()
    assert {"v:burst-browser", "v:bursting-home", "v:faker-home"} <= users
    assert "v:honest-home" not in users
    orders = catalog.excluded_orders()
    assert {"o-1", "o-2"} <= orders
    assert "o-3" not in orders
