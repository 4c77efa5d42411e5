"""A category's ranking is the store's ranking filtered by category: the filtering (describing up
to 2,000 items) is done once per ranking, not once per page, also when the ranking comes from the
shared cache, which hands out a new copy on every read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations import popularity, redis_client
from recommendations.models import Event, EventKind

from .conftest import ids

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh_popularity():
    popularity._clear()
    yield
    popularity._clear()


def test_a_category_is_filtered_once_while_the_shared_ranking_is_unchanged(
    catalogue, fresh_popularity
):
    assert redis_client.shared_cache() is not None
    garden = ids(catalogue["Garden"])
    Event.objects.bulk_create(
        [
            Event(visitor_id="v", item_id=i, kind=EventKind.VIEW)
            for i in garden[:3]
            for _ in range(2)
        ]
    )
    first = popularity.computed_popularity(category="Garden", decay=True)
    assert [i for i, _ in first] == garden[:3]
    with CaptureQueriesContext(connection) as again:
        for _ in range(3):
            assert popularity.computed_popularity(category="Garden", decay=True) == first
    assert again.captured_queries == []  # neither the ranking nor the products asked again


def test_a_changed_ranking_is_filtered_again(catalogue, fresh_popularity):
    garden = ids(catalogue["Garden"])
    Event.objects.create(visitor_id="v", item_id=garden[0], kind=EventKind.VIEW)
    assert [i for i, _ in popularity.computed_popularity(category="Garden")] == [garden[0]]
    Event.objects.bulk_create(
        [Event(visitor_id="w", item_id=garden[1], kind=EventKind.VIEW) for _ in range(3)]
    )
    redis_client.shared_cache().clear()  # the shared ranking expired and is computed again
    assert [i for i, _ in popularity.computed_popularity(category="Garden")] == garden[1::-1]
