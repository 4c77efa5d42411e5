"""Order scoring: attacks are flagged and held, ordinary orders are not, decisions are kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from recommendations.models import (
    DecisionReason,
    EventKind,
    ReviewStatus,
    RiskAssessment,
    RiskLevel,
    RiskRule,
    RiskRuleCode,
    RiskSubject,
)
from recommendations.signals import order_held, order_placed, risk_flagged
from recommendations.tasks import score_orders
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver
from shop.models import Order

from .attacks import Traffic, card_testing, fraud_ring, ordinary_traffic

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent() -> Iterator[dict[str, list]]:
    """The signals fraud sent during the test."""
    received: dict[str, list] = {"flagged": [], "held": []}

    def flagged(sender, assessment, **kwargs):
        received["flagged"].append(assessment.key)

    def held(sender, order_id, assessment, **kwargs):
        received["held"].append(order_id)

    risk_flagged.connect(flagged, dispatch_uid="test.flagged")
    order_held.connect(held, dispatch_uid="test.held")
    yield received
    risk_flagged.disconnect(dispatch_uid="test.flagged")
    order_held.disconnect(dispatch_uid="test.held")


def order_assessment(order_id: str) -> RiskAssessment:
    return RiskAssessment.objects.get(subject=RiskSubject.ORDER, key=order_id)


def rules_of(assessment: RiskAssessment) -> set[str]:
    return {reason["rule"] for reason in assessment.reasons}


def test_card_testing_is_blocked_and_the_order_held(sent, django_capture_on_commit_callbacks):
    traffic = Traffic(seed=1)
    attack = card_testing(traffic, timezone.now() - timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()

    (order_id,) = attack.orders
    assessment = order_assessment(order_id)
    assert assessment.level == RiskLevel.BLOCK and assessment.status == ReviewStatus.OPEN
    assert {"failed_payments", "card_velocity"} <= rules_of(assessment)
    details = " / ".join(reason["detail"] for reason in assessment.reasons)
    assert "6 failed payments in 60 minutes from cardtest-" in details
    assert "7 different cards in 24 hours" in details
    # The decision keeps the numbers it compared: each reason names its rule's settings then.
    failed = next(r for r in assessment.reasons if r["rule"] == "failed_payments")
    assert (failed["threshold"], failed["window_minutes"]) == (3, 60)
    assert assessment.score == sum(reason["points"] for reason in assessment.reasons)
    assert Order.objects.get(pk=order_id).held_for_review
    assert sent == {"flagged": [order_id], "held": [order_id]}


def test_every_order_of_a_fraud_ring_is_flagged(django_capture_on_commit_callbacks):
    traffic = Traffic(seed=2)
    ring = fraud_ring(traffic, timezone.now() - timedelta(days=3), accounts=5)
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()

    for order_id in ring.orders:
        assessment = order_assessment(order_id)
        assert "shared_address" in rules_of(assessment), assessment.reasons
        assert assessment.status == ReviewStatus.OPEN
    detail = next(
        r["detail"]
        for r in order_assessment(ring.orders[0]).reasons
        if r["rule"] == "shared_address"
    )
    assert detail.startswith("5 accounts shipped to ")


def test_a_checkout_is_scored_when_its_purchases_are_stored(
    drain, django_capture_on_commit_callbacks
):
    user = User.objects.create(username="ann", email="ann@example.com")
    order = Order.objects.create(number="W1", user=user, email=user.email, total=Decimal("24.50"))
    with django_capture_on_commit_callbacks(execute=True):
        order_placed.send(
            sender=Order,
            request=None,
            order_id=order.pk,
            user=user,
            lines=[("5", 1, Decimal("24.50"))],
            email="ann@example.com",
            shipping_address="1 Mill Road, York",
            card_fingerprint="f" * 32,
            total=Decimal("24.50"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        drain()  # services mode: the ingest consumer stores them
    assessment = order_assessment(str(order.pk))
    assert (assessment.score, assessment.level, assessment.reasons) == (0, RiskLevel.ALLOW, [])
    assert assessment.status == ReviewStatus.NOT_NEEDED and assessment.user_id == user.pk
    assert not Order.objects.get(pk=order.pk).held_for_review


def test_an_imported_order_is_scored_from_its_events(drain, django_capture_on_commit_callbacks):
    """No checkout attempt: the customer's history is read from their purchase events."""
    now = timezone.now()
    user = User.objects.create(
        username="bob", email="bob@example.com", date_joined=now - timedelta(days=400)
    )

    def purchase(order: str, price: str, days_ago: float) -> EventRecord:
        return EventRecord(
            kind=int(EventKind.PURCHASE),
            item_id="3",
            visitor_id="import",
            user_id=user.pk,
            value=2,
            context={"order": order, "price": price},
            ts=now - timedelta(days=days_ago),
        )

    history = [purchase(f"old-{n}", "10.00", 30 - n) for n in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        deliver(history)
        drain()
        deliver([purchase("big", "150.00", 0)])
        drain()

    assert rules_of(order_assessment("big")) == {"value_outlier"}
    (reason,) = order_assessment("big").reasons
    assert reason["detail"] == (
        "order of 300.00 is 15.0 times account bob's median order (20.00 over 4 orders)"
    )
    assert order_assessment("old-3").reasons == []


def test_rescoring_keeps_a_staff_decision(sent, django_capture_on_commit_callbacks):
    traffic = Traffic(seed=3)
    (order_id,) = card_testing(traffic, timezone.now() - timedelta(minutes=30)).orders
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()
    staff = User.objects.create(username="staff", is_staff=True)
    RiskAssessment.objects.filter(key=order_id).update(
        status=ReviewStatus.DISMISSED,
        decision_reason=DecisionReason.LEGITIMATE,
        reviewed_by=staff,
        reviewed_at=timezone.now(),
    )
    RiskRule.objects.filter(code=RiskRuleCode.CARD_VELOCITY).update(enabled=False)

    with django_capture_on_commit_callbacks(execute=True):
        score_orders.delay([order_id])

    assessment = order_assessment(order_id)
    assert assessment.status == ReviewStatus.DISMISSED
    assert assessment.decision_reason == DecisionReason.LEGITIMATE
    assert assessment.reviewed_by == staff
    assert rules_of(assessment) == {"failed_payments"}  # the score follows the rules
    assert sent == {"flagged": [order_id], "held": [order_id]}  # nothing sent again


def test_disabled_rules_do_not_count(django_capture_on_commit_callbacks):
    RiskRule.objects.filter(
        code__in=[RiskRuleCode.FAILED_PAYMENTS, RiskRuleCode.CARD_VELOCITY]
    ).update(enabled=False)
    traffic = Traffic(seed=4)
    (order_id,) = card_testing(traffic, timezone.now() - timedelta(minutes=20)).orders
    with django_capture_on_commit_callbacks(execute=True):
        traffic.flush()
    assessment = order_assessment(order_id)
    assert assessment.level == RiskLevel.ALLOW and assessment.status == ReviewStatus.NOT_NEEDED
    assert not Order.objects.get(pk=order_id).held_for_review


def test_ordinary_orders_are_mostly_allowed(django_capture_on_commit_callbacks):
    traffic = Traffic(seed=5)
    ordinary = ordinary_traffic(traffic, customers=200, products=150, days=7)
    assert len(ordinary.orders) >= 50
    with django_capture_on_commit_callbacks(execute=True):
        score_orders.delay(ordinary.orders)

    assessments = RiskAssessment.objects.filter(subject=RiskSubject.ORDER)
    assert assessments.count() == len(ordinary.orders)
    flagged = assessments.exclude(level=RiskLevel.ALLOW)
    assert flagged.count() <= 0.01 * len(ordinary.orders), list(flagged.values("reasons"))
    assert not Order.objects.filter(held_for_review=True).exists()
