"""The dashboard shows what is happening now from real events, runs and versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from recommendations.models import Event, EventKind, TrainingRun
from recommendations.training import train
from tests.training.helpers import make_events

pytestmark = pytest.mark.django_db
URL = "/admin/recommendations/event/dashboard/"


def test_the_dashboard_shows_activity_freshness_and_runs(
    admin_client, django_capture_on_commit_callbacks
):
    make_events(n_users=40, seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(visitor_id=f"live-{i}", item_id="1", kind=EventKind.VIEW) for i in range(5)]
        + [Event(visitor_id="live-0", item_id="1", kind=EventKind.ADD_TO_CART)]
        + [
            Event(
                visitor_id="earlier", item_id="2", kind=EventKind.VIEW, ts=now - timedelta(hours=3)
            )
        ]
    )

    response = admin_client.get(URL)
    assert response.status_code == 200
    context = response.context
    assert context["hour_total"] == 6 and context["day_total"] == 7
    assert context["active_visitors"] == 5
    hour = {d["label"]: sum(d["data"]) for d in context["hour_chart"]["datasets"]}
    assert hour == {"view": 5, "add_to_cart": 1}
    assert len(context["hour_chart"]["labels"]) == 60

    run = TrainingRun.objects.get()
    assert [r.pk for r in context["runs"]] == [run.pk]
    scenarios = {m.scenario for m in context["models"]}
    assert {"For you", "Similar items"} <= scenarios
    content = response.content.decode()
    # Names, not ids; the charts are drawn by the vendored library from data on the page.
    assert "For you" in content and "Finished" in content
    assert 'data-chart="chart-hour"' in content and 'id="chart-hour"' in content
    assert "vendor/chartjs/chart.umd.min.js" in content and "cdn" not in content.lower()


def test_the_dashboard_is_refused_to_shoppers(django_user_model):
    shopper = django_user_model.objects.create_user("shopper", password="pw-123456789")
    client = Client()
    client.force_login(shopper)
    assert client.get(URL).status_code == 302


def test_the_admin_index_links_to_the_dashboard(admin_client):
    index = admin_client.get("/admin/")
    assert b"/admin/recommendations/dashboard/" in index.content
    response = admin_client.get("/admin/recommendations/dashboard/")
    assert response.status_code == 302 and response["Location"] == URL
