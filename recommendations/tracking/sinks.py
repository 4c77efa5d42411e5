"""Where captured events go: the Redis stream in services mode, the database otherwise.

The request path never fails because of tracking. If Redis is away, events are written straight
to the database; if that fails too, they are dropped, counted and logged.
"""

from __future__ import annotations

import enum
import logging
import threading

import redis
from django.db import DatabaseError, transaction

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.signals import event_dropped, events_stored

from .records import EventRecord, dumps
from .store import insert_events

logger = logging.getLogger("recommendations.tracking")

#: The stream field that holds a JSON batch of events.
STREAM_FIELD = b"e"


class Outcome(enum.Enum):
    QUEUED = "queued"  # appended to the Redis stream
    STORED = "stored"  # written to the database
    DROPPED = "dropped"  # neither: lost, counted and logged


class DropCounter:
    """Events dropped by this process since it started (both Redis and the database failed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, count: int) -> None:
        with self._lock:
            self.value += count


dropped = DropCounter()


def stream_key() -> str:
    return app_settings.key("events")


def deliver(records: list[EventRecord], *, durable: bool = True) -> Outcome:
    """Queue ``records`` on the stream, or store them, or count them as dropped.

    ``durable=False`` is for events nobody is told were stored (a page view): written to the
    database while Redis is away, their commit does not wait for the disk, so that the page
    does not wait for it (see :func:`~.store.insert_events`). A beacon's batch, acknowledged
    with a 202, stays durable."""
    if not records:
        return Outcome.STORED
    if app_settings.services_mode and redis_client.available():
        try:
            redis_client.get_redis().xadd(stream_key(), {STREAM_FIELD: dumps(records)})
            return Outcome.QUEUED
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning(
                "Redis unavailable (%s); writing %d event(s) to the database", exc, len(records)
            )
    try:
        new = insert_events(records, wait_for_flush=durable)
    except DatabaseError:
        dropped.add(len(records))
        logger.exception(
            "Dropped %d event(s): neither Redis nor the database accepted them", len(records)
        )
        event_dropped.send(sender=Outcome, count=len(records), reason="storage unavailable")
        return Outcome.DROPPED
    if new:
        events_stored.send(sender=Outcome, count=len(new), records=new)
    return Outcome.STORED


def emit(records: list[EventRecord], *, durable: bool = True) -> None:
    """Deliver ``records`` once the current transaction commits (at once outside one).

    A rolled-back order therefore records no purchase.
    """
    if records:
        transaction.on_commit(lambda: deliver(records, durable=durable), robust=True)
