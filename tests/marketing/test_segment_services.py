"""A cart abandoner enters the segment within a minute of crossing the threshold, through the
real pipeline: the storefront, the ingest consumer, Celery beat and a worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from recommendations.models import (
    ConditionKind,
    Event,
    EventKind,
    Segment,
    SegmentCondition,
    SegmentMember,
)
from shop.models import Category, Product
from tests.processes import start_manage, stop, wait_for
from tests.tasks.conftest import Processes

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ENTRY = "recommendations: update_segments"
#: H of the condition: 36 seconds.
HOURS = 0.01


def test_a_cart_abandoner_enters_within_a_minute_of_the_threshold(tmp_path):
    category = Category.objects.create(name="Kitchen", slug="kitchen")
    teapot = Product.objects.create(
        sku="T1", title="Teapot", category=category, price=Decimal("12.00"), stock=5
    )
    abandoners = Segment.objects.create(key="cart-abandoners", name="Cart abandoners")
    SegmentCondition.objects.create(
        segment=abandoners, kind=ConditionKind.CART_ABANDONED, hours=HOURS
    )
    # Only the segment update runs (every 30 seconds, as shipped): a solo worker busy with
    # another entry's task would delay it by that task's length.
    assert PeriodicTask.objects.get(name=ENTRY).interval.every == 30
    PeriodicTask.objects.exclude(name=ENTRY).update(enabled=False)

    consumer = start_manage(
        "recommendations_ingest", "--name", "segments", log=tmp_path / "ingest.log"
    )
    processes = Processes(tmp_path)
    processes.worker()
    processes.beat("beat")
    try:
        shopper = Client(HTTP_USER_AGENT=BROWSER)
        assert (
            shopper.get(reverse("shop:product_detail", kwargs={"pk": teapot.pk})).status_code == 200
        )
        response = shopper.post(reverse("shop:cart_add", kwargs={"pk": teapot.pk}), {"quantity": 1})
        assert response.status_code == 302

        def added() -> Event | None:
            return Event.objects.filter(kind=EventKind.ADD_TO_CART).first()

        logs = lambda: (tmp_path / "ingest.log").read_text() + processes.logs()  # noqa: E731
        assert wait_for(lambda: added() is not None, timeout=30), logs()
        event = added()
        assert event is not None and event.item_id == str(teapot.pk)
        crossed = event.ts + timedelta(hours=HOURS)

        def member() -> SegmentMember | None:
            return SegmentMember.objects.filter(segment=abandoners).first()

        remaining = (crossed + timedelta(seconds=60) - timezone.now()).total_seconds()
        assert wait_for(lambda: member() is not None, timeout=remaining, interval=0.5), logs()
    finally:
        stop(consumer)
        processes.stop_all()

    entered = member()
    assert entered is not None and entered.member == f"v:{event.visitor_id}"
    assert crossed <= entered.entered_at <= crossed + timedelta(seconds=60)
    assert entered.reasons[0].endswith("and placed no order within 36 seconds.")
    abandoners.refresh_from_db()
    assert abandoners.member_count == 1
