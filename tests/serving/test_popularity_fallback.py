"""Popularity while the shared cache's Redis is away: one query serves every category, and an
expired copy is served while a background thread refreshes it, so no page waits for the query
again (on a large event table it takes seconds)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations import popularity, redis_client
from recommendations.models import Event, EventKind
from tests.processes import wait_for

from .conftest import ids

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_away():
    popularity._clear()
    redis_client.mark_down()
    yield
    redis_client.reset()
    popularity._clear()


def _views(items: list[str], times: int) -> None:
    Event.objects.bulk_create(
        [Event(visitor_id="v", item_id=i, kind=EventKind.VIEW) for i in items for _ in range(times)]
    )


def _event_queries(captured: CaptureQueriesContext) -> int:
    return sum("recommendations_event" in q["sql"] for q in captured.captured_queries)


def test_every_category_is_filtered_from_one_query(catalogue, redis_away):
    _views(ids(catalogue["Garden"])[:2], 3)
    _views(ids(catalogue["Toys"])[:1], 5)
    with CaptureQueriesContext(connection) as captured:
        garden = popularity.computed_popularity(category="Garden", decay=True)
        toys = popularity.computed_popularity(category="Toys", decay=True)
        kitchen = popularity.computed_popularity(category="Kitchen", decay=True)
    assert [i for i, _ in garden] == ids(catalogue["Garden"])[:2]
    assert [i for i, _ in toys] == ids(catalogue["Toys"])[:1]
    assert kitchen == []
    # The newest event, then the ranking, for both rankings (the other one is soon needed by the
    # popular backfill): once for all three categories.
    assert _event_queries(captured) == 4
    with CaptureQueriesContext(connection) as again:
        assert popularity.computed_popularity(category="Garden", decay=True) == garden
    assert again.captured_queries == []  # filtered already from the same copy


def test_an_expired_copy_is_served_while_it_is_refreshed(catalogue, redis_away, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "POPULARITY_CACHE_SECONDS": 0}
    redis_client.mark_down()  # again: changing settings closed the breaker
    first, second = ids(catalogue["Garden"])[:2]
    _views([first], 3)
    assert [i for i, _ in popularity.computed_popularity()] == [first]
    _views([second], 10)
    with CaptureQueriesContext(connection) as captured:
        stale = popularity.computed_popularity()
    assert [i for i, _ in stale] == [first]  # answered at once from the copy
    assert _event_queries(captured) == 0
    assert wait_for(
        lambda: [i for i, _ in popularity.computed_popularity()][:1] == [second], timeout=10
    )
    # The last call may have started one more refresh: let it end before the database is
    # flushed for the next test (a query still running then deadlocks with the flush).
    for thread in threading.enumerate():
        if thread.name == "popularity-refresh":
            thread.join(timeout=30)


def test_postgresql_sums_the_decay_like_the_hourly_loop(catalogue):
    from datetime import timedelta

    from django.db.models import Max
    from django.utils import timezone

    now = timezone.now()
    items = ids(catalogue["Garden"]) + ids(catalogue["Toys"])
    Event.objects.bulk_create(
        [
            Event(visitor_id=f"v{n}", item_id=items[n % len(items)], kind=kind, ts=now - age)
            for n in range(400)
            for kind, age in [
                (EventKind.VIEW, timedelta(hours=n % 97, minutes=n % 60)),
                (EventKind.PURCHASE, timedelta(days=n % 40)),  # some outside the window
            ]
            if n % 3 or kind == EventKind.VIEW
        ]
    )
    weights = {int(EventKind.VIEW): 1.0, int(EventKind.PURCHASE): 5.0}
    events = Event.objects.filter(kind__in=list(weights))
    newest = events.aggregate(newest=Max("ts"))["newest"]
    window = events.filter(ts__gte=newest - timedelta(days=30))
    in_sql = popularity._decayed_in_postgresql(weights, newest, 30, 100)
    in_python = popularity._decayed_in_python(window, weights, newest, 100)
    assert [i for i, _ in in_sql] == [i for i, _ in in_python]
    for (_, a), (_, b) in zip(in_sql, in_python, strict=True):
        assert a == pytest.approx(b, rel=1e-9)


def test_few_live_counters_are_followed_by_the_stored_ranking(catalogue):
    """A quiet hour (or a fresh stream) leaves one item in the live counters: trending is not a
    list of one, the stored ranking fills in after it."""
    from recommendations.serving import sources
    from recommendations.stores import get_store
    from recommendations.tracking import live
    from recommendations.tracking.records import EventRecord

    toys = ids(catalogue["Toys"])
    get_store().put_many({"trending": [(item, 10.0 - n) for n, item in enumerate(toys[:4])]})
    live.update(
        redis_client.get_redis(),
        [EventRecord(kind=int(EventKind.VIEW), item_id=toys[3], visitor_id="v")],
    )
    ranked = sources.trending(4)
    assert [item for item, _ in ranked] == [toys[3], toys[0], toys[1], toys[2]]
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
