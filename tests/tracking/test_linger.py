"""The consumer's linger: a trickle is stored at once, a burst still goes in a few large batches."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from recommendations.models import Event
from recommendations.tracking.ingest import ArrivalRate, Consumer
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def steady(rate: ArrivalRate, clock: Clock, per_second: float, seconds: float) -> None:
    """Messages arriving one at a time at ``per_second``, read as they come."""
    for _ in range(int(per_second * seconds)):
        clock.now += 1 / per_second
        rate.add(1)


class TestArrivalRate:
    def test_a_steady_rate_is_estimated_within_a_second(self):
        clock = Clock()
        rate = ArrivalRate(clock)
        steady(rate, clock, 400, 1.0)
        assert rate.per_second() == pytest.approx(400, rel=0.05)

    def test_the_rate_falls_to_zero_after_a_quiet_spell(self):
        clock = Clock()
        rate = ArrivalRate(clock)
        steady(rate, clock, 400, 1.0)
        clock.now += 3.0
        assert rate.per_second() < 1

    def test_a_trickle_never_waits(self):
        clock = Clock()
        rate = ArrivalRate(clock)
        steady(rate, clock, 30, 2.0)  # e.g. one shopper who waits for each view to be stored
        assert rate.wait_s(missing=199, min_rate=100, max_wait_s=0.25) == 0.0

    def test_under_load_a_partial_batch_waits_as_long_as_filling_it_takes_at_most_the_linger(
        self,
    ):
        clock = Clock()
        rate = ArrivalRate(clock)
        steady(rate, clock, 400, 1.0)
        assert rate.wait_s(missing=199, min_rate=100, max_wait_s=0.25) == 0.25
        assert rate.wait_s(missing=20, min_rate=100, max_wait_s=0.25) == pytest.approx(
            20 / 400, rel=0.05
        )
        assert rate.wait_s(missing=0, min_rate=100, max_wait_s=0.25) == 0.0

    def test_min_rate_zero_always_waits_the_whole_linger(self):
        rate = ArrivalRate(Clock())
        rate.add(1)
        assert rate.wait_s(missing=199, min_rate=0, max_wait_s=0.25) == 0.25
        assert rate.wait_s(missing=199, min_rate=0, max_wait_s=0) == 0.0


def _record(i: int) -> EventRecord:
    return EventRecord(kind=1, item_id=str(i % 13), visitor_id=f"linger-{i % 40}")


@pytest.fixture
def running_consumer():
    """A consumer thread (long linger, so that any wait would show); yields its batch sizes."""
    consumer = Consumer("linger", batch_size=200, linger_ms=2000, linger_min_rate=100)
    consumer.ensure_group()
    batches: list[int] = []
    seen = [0]

    def on_batch(stats) -> None:
        batches.append(stats.messages - seen[0])
        seen[0] = stats.messages

    stop = threading.Event()

    def consume() -> None:
        try:
            consumer.run(stop, on_batch=on_batch)
        finally:
            connection.close()  # the thread's own connection, or the test database stays in use

    thread = threading.Thread(target=consume)
    thread.start()
    try:
        yield batches
    finally:
        stop.set()
        thread.join(10)


def _stored_within(count: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if Event.objects.count() >= count:
            return True
        time.sleep(0.002)
    return False


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
class TestConsumerLinger:
    def test_a_lone_event_is_stored_without_waiting_for_the_linger(self, running_consumer):
        time.sleep(0.3)  # the consumer is blocked in its read
        for n in range(1, 4):
            started = time.monotonic()
            deliver([_record(n)])
            assert _stored_within(n, 1.0)
            # The linger is 2 s: a lone event waiting for it would take that long.
            assert time.monotonic() - started < 0.5
            time.sleep(0.1)
        assert running_consumer == [1, 1, 1]

    def test_a_burst_still_arrives_in_a_few_large_batches(self, running_consumer):
        total, per_second = 600, 600
        started = time.monotonic()
        for i in range(total):  # one message per page view, at a steady pace
            deliver([_record(i)])
            pause = started + (i + 1) / per_second - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        assert _stored_within(total, 15.0)
        deadline = time.monotonic() + 5
        while sum(running_consumer) < total and time.monotonic() < deadline:
            time.sleep(0.01)  # the last batch is counted just after it is stored
        assert sum(running_consumer) == total
        # Read as they come (no linger), the same burst took about 60 batches on two cores.
        assert len(running_consumer) <= 20, running_consumer
        assert max(running_consumer) >= 100, running_consumer  # lingering batches fill up
