"""The ingest consumer against real Redis and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from recommendations import redis_client
from recommendations.models import Event
from recommendations.tracking import live
from recommendations.tracking.ingest import Consumer, dead_letter_key
from recommendations.tracking.records import EventRecord, loads
from recommendations.tracking.sinks import STREAM_FIELD, Outcome, deliver, stream_key
from recommendations.tracking.store import insert_events

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def records(n: int, visitor: str = "v1", item_prefix: str = "") -> list[EventRecord]:
    return [
        EventRecord(kind=1, item_id=f"{item_prefix}{i % 7}", visitor_id=visitor) for i in range(n)
    ]


def test_queued_events_are_stored_once_and_acknowledged():
    batch = records(50)
    assert deliver(batch) is Outcome.QUEUED
    assert deliver(batch[:10]) is Outcome.QUEUED  # a client resending part of a batch
    stats = Consumer("c1").run(until_idle=True)
    assert (stats.stored, stats.duplicates) == (50, 10)
    assert Event.objects.count() == 50
    client = redis_client.get_redis()
    assert client.xlen(stream_key()) == 0
    assert client.xpending(stream_key(), "recommendations-ingest")["pending"] == 0


def test_live_state_follows_new_events_only():
    client = redis_client.get_redis()
    deliver(
        [
            EventRecord(kind=1, item_id="a", visitor_id="v9"),
            EventRecord(kind=4, item_id="b", visitor_id="v9"),
        ]
    )
    Consumer("c1").run(until_idle=True)
    assert live.recent_items(client, visitor_id="v9") == ["b", "a"]
    assert [item for item, _ in live.trending(client)] == [
        "b",
        "a",
    ]  # a purchase weighs more than a view
    scores = dict(live.trending(client))
    assert scores["b"] == pytest.approx(5.0, rel=1e-3)


def test_undecodable_message_goes_to_dead_letter_and_the_rest_is_stored():
    client = redis_client.get_redis()
    deliver(records(3))
    client.xadd(stream_key(), {STREAM_FIELD: b"{not json"})
    deliver(records(2, visitor="v2"))
    stats = Consumer("c1").run(until_idle=True)
    assert Event.objects.count() == 5
    assert stats.dead_lettered == 1
    ((_, fields),) = client.xrange(dead_letter_key())
    assert fields[b"reason"].startswith(b"undecodable")
    assert fields[STREAM_FIELD] == b"{not json"


def test_message_that_keeps_failing_is_dead_lettered_after_max_deliveries(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "INGEST_MAX_DELIVERIES": 3}
    client = redis_client.get_redis()
    deliver(records(4))
    too_long = EventRecord(kind=1, item_id="x" * 500, visitor_id="v3")  # longer than the column
    deliver([too_long])
    deliver(records(4, visitor="v4"))
    stats = Consumer("c1").run(until_idle=True)
    assert Event.objects.count() == 8
    assert stats.dead_lettered == 1
    ((_, fields),) = client.xrange(dead_letter_key())
    assert fields[b"reason"].startswith(b"failed 3 times")
    assert loads(fields[STREAM_FIELD])[0].event_id == too_long.event_id
    assert client.xlen(stream_key()) == 0


def test_batch_stored_by_a_consumer_that_died_before_acking_is_not_duplicated():
    batch = records(30)
    for i in range(0, 30, 10):
        deliver(batch[i : i + 10])
    crashed = Consumer("crashed", batch_size=10)
    crashed.ensure_group()
    messages = crashed._read(own_pending=False)
    assert len(messages) == 3
    insert_events(
        [r for _, fields in messages for r in loads(fields[STREAM_FIELD])]
    )  # then it died
    survivor = Consumer("survivor", claim_idle_ms=0)
    stats = survivor.run(until_idle=True)
    assert stats.messages == 3
    assert (stats.stored, stats.duplicates) == (0, 30)
    assert Event.objects.count() == 30
    assert redis_client.get_redis().xpending(stream_key(), "recommendations-ingest")["pending"] == 0


def test_stream_payload_is_compact_json():
    deliver(records(1))
    ((_, fields),) = redis_client.get_redis().xrange(stream_key())
    row = json.loads(fields[STREAM_FIELD])[0]
    assert row[1:5] == ["v1", None, "0", 1]


def _poison_row(**change: object) -> bytes:
    """One event as the stream carries it, with ``change`` applied to its columns."""
    row = EventRecord(kind=1, item_id="ok", visitor_id="v3").to_row()
    names = ["event_id", "visitor_id", "user_id", "item_id", "kind", "value", "ts", "client_ts"]
    for name, value in change.items():
        row[names.index(name)] = value
    return json.dumps([row]).encode()


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (_poison_row(ts=1e20), "undecodable"),  # OverflowError from datetime.fromtimestamp
        (b"[" * 5000 + b"]" * 5000, "undecodable"),  # RecursionError from json
        (_poison_row(item_id="nul\x00byte"), "failed"),  # psycopg's own error, inside COPY
    ],
    ids=["timestamp-overflow", "nested-too-deep", "nul-byte"],
)
def test_a_poison_message_never_stops_the_consumer(settings, payload, why):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "INGEST_MAX_DELIVERIES": 2}
    client = redis_client.get_redis()
    deliver(records(3))
    client.xadd(stream_key(), {STREAM_FIELD: payload})
    deliver(records(2, visitor="v2"))
    for _ in range(3):  # the poison is retried until INGEST_MAX_DELIVERIES, then set aside
        Consumer("c1", claim_idle_ms=0).run(until_idle=True)
    assert Event.objects.count() == 5
    dead = client.xrange(dead_letter_key())
    assert len(dead) == 1
    assert dead[0][1][b"reason"].decode().startswith(why)
    assert client.xlen(stream_key()) == 0


def test_the_safety_net_task_returns_under_steady_traffic():
    """Beat's ``ingest_pending`` used to run until the stream was idle, which under steady
    traffic is never: a worker stayed busy and a warm shutdown could not finish."""
    import threading

    from recommendations.tasks import ingest_pending

    flowing = threading.Event()

    def traffic() -> None:
        while not flowing.is_set():
            deliver(records(5, visitor="steady"))
            flowing.wait(0.01)

    producer = threading.Thread(target=traffic)
    producer.start()
    try:
        result = ingest_pending.run(max_seconds=1.0)
        assert producer.is_alive()  # the stream was never idle
    finally:
        flowing.set()
        producer.join()
    assert result["messages"] > 0


def test_the_app_tasks_are_acknowledged_late_and_bounded():
    from celery import current_app

    import recommendations.tasks  # noqa: F401  (registers the tasks)

    app_tasks = {
        name: task
        for name, task in current_app.tasks.items()
        if name.startswith("recommendations.")
    }
    assert sorted(app_tasks) == [
        "recommendations.cleanup_events",
        "recommendations.forecast_demand",
        "recommendations.ingest_pending",
        "recommendations.precompute_lists",
        "recommendations.precompute_shard",
        "recommendations.rebuild_segments",
        "recommendations.refresh_content_neighbours",
        "recommendations.refresh_trending",
        "recommendations.score_orders",
        "recommendations.score_visitors",
        "recommendations.train_anomaly_model",
        "recommendations.train_full",
        "recommendations.train_incremental",
        "recommendations.update_segments",
    ]
    for name, task in app_tasks.items():
        assert task.acks_late and task.reject_on_worker_lost, name
        assert task.time_limit and task.time_limit < 3600, name
