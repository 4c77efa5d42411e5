"""Default periodic tasks appear in django-celery-beat and keep admin edits; retention; precompute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from recommendations.models import Event, EventKind
from recommendations.stores import get_store
from recommendations.tasks import cleanup_events, refresh_trending

pytestmark = pytest.mark.django_db


def test_defaults_are_installed_at_migrate_and_edits_survive():
    names = set(
        PeriodicTask.objects.filter(name__startswith="recommendations: ").values_list(
            "name", flat=True
        )
    )
    assert {
        "recommendations: ingest_pending",
        "recommendations: refresh_trending",
        "recommendations: train_incremental",
        "recommendations: train_full",
        "recommendations: cleanup_events",
    } <= names
    task = PeriodicTask.objects.get(name="recommendations: refresh_trending")
    assert task.interval.every == 60
    assert PeriodicTask.objects.get(name="recommendations: train_full").crontab.hour == "3"

    task.enabled = False
    task.save()
    call_command("recommendations_schedules")
    assert not PeriodicTask.objects.get(pk=task.pk).enabled
    call_command("recommendations_schedules", "--reset")
    assert PeriodicTask.objects.get(pk=task.pk).enabled


def test_cleanup_keeps_everything_by_default_and_deletes_old_events_when_configured(settings):
    old = Event.objects.create(visitor_id="v", item_id="1", kind=EventKind.VIEW)
    Event.objects.filter(pk=old.pk).update(ts=timezone.now() - timedelta(days=40))
    Event.objects.create(visitor_id="v", item_id="2", kind=EventKind.VIEW)
    assert cleanup_events() == 0
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "EVENT_RETENTION_DAYS": 30}
    assert cleanup_events() == 1
    assert list(Event.objects.values_list("item_id", flat=True)) == ["2"]


def test_refresh_trending_writes_overall_and_category_lists(catalogue):
    kitchen, toys = catalogue["Kitchen"], catalogue["Toys"]
    Event.objects.bulk_create(
        [Event(visitor_id="v", item_id=str(kitchen[0].pk), kind=EventKind.PURCHASE)]
        + [Event(visitor_id="v", item_id=str(toys[1].pk), kind=EventKind.VIEW) for _ in range(2)]
    )
    written = refresh_trending()
    assert written == {"trending": 3, "popular": 3}
    lists = get_store().get_many(["popular", "trending:category:Toys"])
    assert [item for item, _ in lists["popular"]] == [str(kitchen[0].pk), str(toys[1].pk)]
    assert lists["popular"][0][1] == 5.0
    assert [item for item, _ in lists["trending:category:Toys"]] == [str(toys[1].pk)]
