"""Popularity while the shared cache's Redis is away: one query serves every category, and an
expired copy is served while a background thread refreshes it, so no page waits for the query
again (on a large event table it takes seconds)."""

from __future__ import annotations

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
    popularity._local.clear()
    redis_client.mark_down()
    yield
    redis_client.reset()
    popularity._local.clear()


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
    # The newest event, then the ranking: once for all three categories.
    assert _event_queries(captured) == 2


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
