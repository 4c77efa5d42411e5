"""Staff can read the event log and its daily chart; nobody can edit events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations.models import Event, EventKind

pytestmark = pytest.mark.django_db


def test_event_log_shows_a_chart_of_events_per_day(admin_client):
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(visitor_id="v", item_id="1", kind=EventKind.VIEW, ts=now) for _ in range(3)]
        + [Event(visitor_id="v", item_id="2", kind=EventKind.VIEW, ts=now - timedelta(days=2))]
    )
    response = admin_client.get("/admin/recommendations/event/")
    assert response.status_code == 200
    chart = response.context["daily_chart"]
    assert [bar.value for bar in chart.bars][-3:] == [1, 0, 3]
    assert chart.maximum == 3
    assert b"<svg" in response.content and b"Events per day" in response.content


def test_events_cannot_be_added_or_edited(admin_client):
    event = Event.objects.create(visitor_id="v", item_id="1", kind=EventKind.VIEW)
    assert admin_client.get("/admin/recommendations/event/add/").status_code == 403
    response = admin_client.post(
        f"/admin/recommendations/event/{event.pk}/change/", {"item_id": "9"}
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.item_id == "1"
