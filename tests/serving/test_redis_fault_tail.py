"""What a request still waits for once a private Redis has been killed and the breaker is open:
not the popularity query, not the disk under a page view's fallback write, not a full garbage
collection over everything the process imported."""

from __future__ import annotations

import gc
import signal
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from recommendations import popularity, redis_client
from recommendations.models import Event, EventKind
from recommendations.serving import sources
from recommendations.stores import get_store
from tests.processes import app_on_private_redis, stop, wait_for

from .conftest import ids

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(settings):
    """The app's Redis on a redis-server of the test's own, killed by the test when it likes."""
    popularity._clear()
    try:
        with app_on_private_redis(settings) as (_, server):
            yield server
    finally:
        popularity._clear()
        wait_for(lambda: not _refreshing())  # no query left running when the database is flushed


def _refreshing() -> bool:
    return any(thread.name == "popularity-refresh" for thread in threading.enumerate())


def _kill(server) -> None:
    stop(server, signal.SIGKILL)


def _event_queries(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if "recommendations_event" in q["sql"]]


def test_the_stored_rankings_read_before_the_failure_answer_after_it(catalogue, private_redis):
    garden, toys = ids(catalogue["Garden"]), ids(catalogue["Toys"])
    stored = {
        "popular": [(item, 10.0 - n) for n, item in enumerate(garden)],
        "trending": [(item, 5.0 - n) for n, item in enumerate(toys)],
    }
    get_store().put_many(stored)
    Event.objects.create(visitor_id="v", item_id=ids(catalogue["Kitchen"])[0], kind=EventKind.VIEW)
    assert sources.popular(4) == stored["popular"][:4]
    assert sources.trending(4) == stored["trending"][:4]  # no live counters: the stored list
    _kill(private_redis)
    with CaptureQueriesContext(connection) as captured:
        popular_after = sources.popular(4)  # the failed call opens the breaker
        trending_after = sources.trending(4)
    assert not redis_client.available()
    # The same lists as before the failure, and no ranking computed from the events.
    assert popular_after == stored["popular"][:4]
    assert trending_after == stored["trending"][:4]
    assert _event_queries(captured) == []


def test_the_first_computation_serves_every_size_and_both_rankings(catalogue, private_redis):
    garden = ids(catalogue["Garden"])
    Event.objects.bulk_create(
        [Event(visitor_id="v", item_id=item, kind=EventKind.VIEW) for item in garden[:3]]
    )
    _kill(private_redis)
    sources.popular(4)  # nothing stored can be read: the breaker opens
    assert not redis_client.available()
    trending = popularity.computed_popularity(decay=True)  # the one call that waits for queries
    assert {item for item, _ in trending} == set(garden[:3])
    with CaptureQueriesContext(connection) as captured:
        shorter = popularity.computed_popularity(decay=True, size=2)
        popular = popularity.computed_popularity(decay=False)
        in_garden = popularity.computed_popularity(decay=False, category="Garden", size=8)
    assert shorter == trending[:2]
    assert {item for item, _ in popular} == set(garden[:3])
    assert {item for item, _ in in_garden} == set(garden[:3])
    assert _event_queries(captured) == []


def test_a_page_view_written_while_redis_is_away_does_not_wait_for_the_disk(
    catalogue, private_redis
):
    product = catalogue["Garden"][0]
    client = Client()
    _kill(private_redis)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(2):  # the first view finds Redis gone; the second finds the breaker open
            assert client.get(product.get_absolute_url()).status_code == 200
    assert not redis_client.available()
    assert Event.objects.filter(item_id=str(product.pk), kind=EventKind.VIEW).count() == 2
    sql = [q["sql"].upper() for q in captured.captured_queries]
    asynchronous = [n for n, q in enumerate(sql) if "SYNCHRONOUS_COMMIT" in q]
    copies = [n for n, q in enumerate(sql) if "INSERT INTO" in q and "RECOMMENDATIONS_EVENT" in q]
    # Each view's own transaction commits without waiting for the write-ahead log's flush.
    assert len(asynchronous) == len(copies) == 2
    assert all(a < c for a, c in zip(asynchronous, copies, strict=True))


def test_a_beacon_batch_stored_while_redis_is_away_waits_for_the_disk(catalogue, private_redis):
    from recommendations.tracking.records import EventRecord
    from recommendations.tracking.sinks import Outcome, deliver

    _kill(private_redis)
    redis_client.mark_down()
    record = EventRecord(
        kind=int(EventKind.VIEW), item_id=ids(catalogue["Toys"])[0], visitor_id="v"
    )
    with CaptureQueriesContext(connection) as captured:
        assert deliver([record]) is Outcome.STORED  # what a 202 acknowledges stays durable
    assert not [q for q in captured.captured_queries if "synchronous_commit" in q["sql"].lower()]


def test_after_the_first_response_the_settled_objects_are_out_of_the_collectors_way(catalogue):
    client = Client()
    assert client.get(catalogue["Kitchen"][0].get_absolute_url()).status_code == 200
    # Imported code, URL patterns, templates: tens of thousands of objects a full collection
    # no longer walks.
    assert gc.get_freeze_count() > 20_000
