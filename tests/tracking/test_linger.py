"""The consumer's linger: a trickle is stored at once, a burst still goes in a few large batches."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

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


@contextlib.contextmanager
def consumers(*names: str) -> Iterator[list[int]]:
    """Consumer threads in the one group (long linger, so that any wait would show); yields the
    sizes of the batches they stored, all of them together."""
    batches: list[int] = []
    stop = threading.Event()

    def consume(consumer: Consumer) -> None:
        seen = [0]

        def on_batch(stats) -> None:
            batches.append(stats.messages - seen[0])
            seen[0] = stats.messages

        try:
            consumer.run(stop, on_batch=on_batch)
        finally:
            connection.close()  # the thread's own connection, or the test database stays in use

    threads = []
    for name in names:
        consumer = Consumer(name, batch_size=200, linger_ms=2000, linger_min_rate=100)
        consumer.ensure_group()
        threads.append(threading.Thread(target=consume, args=(consumer,)))
    for thread in threads:
        thread.start()
    try:
        yield batches
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


@pytest.fixture
def running_consumer():
    with consumers("linger") as batches:
        yield batches


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
        _send_steadily(total=600, per_second=600)
        _all_counted(running_consumer, 600)
        # Read as they come (no linger), the same burst took about 60 batches on two cores.
        assert len(running_consumer) <= 20, running_consumer
        assert max(running_consumer) >= 100, running_consumer  # lingering batches fill up

    def test_two_consumers_linger_at_a_rate_each_sees_only_half_of(self):
        # 160 messages/s on the stream: above the threshold (100/s), though each of the two
        # consumers is sent about 80/s.
        with consumers("linger-1", "linger-2") as batches:
            time.sleep(0.3)  # both consumers are in their first read, and counted
            _send_steadily(total=480, per_second=160)
            _all_counted(batches, 480)
        # Each comparing its own share with the whole threshold, neither would wait: about one
        # batch per message (452 batches measured). Lingering, ~40: small ones for the first
        # second, while the rate is being estimated, then a few large ones.
        assert len(batches) <= 80, batches
        assert max(batches) >= 50, batches


def _send_steadily(*, total: int, per_second: float) -> None:
    started = time.monotonic()
    for i in range(total):  # one message per page view, at a steady pace
        deliver([_record(i)])
        pause = started + (i + 1) / per_second - time.monotonic()
        if pause > 0:
            time.sleep(pause)


def _all_counted(batches: list[int], total: int) -> None:
    assert _stored_within(total, 15.0)
    deadline = time.monotonic() + 5
    while sum(batches) < total and time.monotonic() < deadline:
        time.sleep(0.01)  # the last batch is counted just after it is stored
    assert sum(batches) == total
