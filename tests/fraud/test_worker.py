"""Services mode: the checkout's purchases are stored by the ingest consumer and the order is
scored by a real Celery worker, off the request path."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from recommendations.models import RiskAssessment, RiskSubject
from recommendations.signals import order_placed
from recommendations.tracking.ingest import Consumer
from shop.celery import app
from shop.models import Order
from tests.processes import wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def to_the_broker():
    """Tasks go to the broker for this test (the suite runs them in-process)."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_a_worker_scores_the_order_once_its_purchases_are_stored(processes, to_the_broker):
    processes.worker("fraud-worker")
    user = User.objects.create(username="cy", email="cy@example.com")
    order = Order.objects.create(number="W2", user=user, email=user.email, total=Decimal("30"))
    order_placed.send(
        sender=Order,
        request=None,
        order_id=order.pk,
        user=user,
        lines=[("9", 2, Decimal("15.00"))],
        email=user.email,
        shipping_address="4 Elm Grove, Bath",
        card_fingerprint="a" * 32,
        total=Decimal("30.00"),
    )
    assert not RiskAssessment.objects.exists()  # the checkout did not wait for a score

    Consumer("fraud-test").run(until_idle=True)

    scored = RiskAssessment.objects.filter(subject=RiskSubject.ORDER, key=str(order.pk))
    assert wait_for(scored.exists, timeout=60), processes.logs()
    assert scored.get().level == "allow"
