"""The ingest consumer: Redis stream → PostgreSQL, exactly once per event.

Delivery is at-least-once and storage de-duplicates by ``event_id``, so the order is always
*store, then acknowledge*: a consumer killed between the two leaves its messages pending, and
whoever reads them next (itself after a restart, or another consumer after ``INGEST_CLAIM_IDLE_MS``)
stores nothing twice. Acknowledged messages are deleted, so the stream holds only unprocessed work.

A message that cannot be decoded, or that keeps failing on its own ``INGEST_MAX_DELIVERIES`` times,
is moved to the dead-letter stream with the reason; the rest of its batch goes through.

Several consumers (processes, machines) may share the group: Redis hands each new message to one
of them, and storage de-duplicates whatever a takeover delivers twice.

A partial batch waits for more (the *linger*) only while messages arrive at
``INGEST_LINGER_MIN_RATE`` per second or faster: a trickle is stored as soon as it is read, and
under load batches stay large (see :class:`ArrivalRate`).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import psycopg
import redis
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from redis.typing import EncodableT, FieldT

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.signals import events_stored

from . import live
from .records import EventRecord, loads
from .sinks import STREAM_FIELD, stream_key
from .store import insert_events

logger = logging.getLogger("recommendations.ingest")

Message = tuple[bytes, dict[bytes, bytes]]

#: The database is away (retry later, nothing is wrong with the message). psycopg's own classes
#: are listed too: COPY runs on the raw connection, outside Django's error wrapping.
_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
#: Storing the batch failed: retried message by message, then dead-lettered.
_STORE_FAILED = (DatabaseError, psycopg.Error)


def dead_letter_key() -> str:
    return app_settings.key("events", "dead")


def group_name() -> str:
    return "recommendations-ingest"


class ArrivalRate:
    """Messages per second arriving at one consumer, and how long a partial batch should wait.

    The rate is an exponentially time-decayed count (time constant :attr:`TAU` seconds): for a
    steady arrival rate *r* it settles at *r* within about a second, and after a quiet spell it
    falls to zero on its own. Waiting pays only when other messages would arrive meanwhile:
    below ``min_rate`` the wait is 0; above, it is the time the rate needs to fill the batch,
    at most ``max_wait_s``. A client that sends its next event only once the previous one is
    stored (a shopper, a freshness probe) is held back by any wait, and alone it stays below
    the default rate (a few dozen messages a second), so it never waits.
    """

    TAU = 0.25

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._count = 0.0
        self._at = clock()

    def add(self, received: int) -> None:
        now = self._clock()
        self._count = self._count * math.exp(-(now - self._at) / self.TAU) + received
        self._at = now

    def per_second(self) -> float:
        return self._count * math.exp(-(self._clock() - self._at) / self.TAU) / self.TAU

    def wait_s(self, *, missing: int, min_rate: float, max_wait_s: float) -> float:
        """How long to wait for ``missing`` more messages (0: store what was read now)."""
        if missing <= 0 or max_wait_s <= 0:
            return 0.0
        if min_rate <= 0:
            return max_wait_s  # the rate is not consulted: every partial batch waits
        rate = self.per_second()
        if rate < min_rate:
            return 0.0
        return min(max_wait_s, missing / rate)


@dataclass
class IngestStats:
    messages: int = 0
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0


class Consumer:
    """One member of the ingest consumer group."""

    def __init__(
        self,
        name: str | None = None,
        *,
        batch_size: int | None = None,
        claim_idle_ms: int | None = None,
        linger_ms: int | None = None,
        linger_min_rate: float | None = None,
    ) -> None:
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.batch_size = batch_size or app_settings.INGEST_BATCH_SIZE
        self.claim_idle_ms = (
            claim_idle_ms if claim_idle_ms is not None else app_settings.INGEST_CLAIM_IDLE_MS
        )
        self.linger_ms = linger_ms if linger_ms is not None else app_settings.INGEST_LINGER_MS
        self.linger_min_rate = (
            linger_min_rate if linger_min_rate is not None else app_settings.INGEST_LINGER_MIN_RATE
        )
        self.redis = redis_client.get_redis(timeout=None)
        self.stream = stream_key()
        self.group = group_name()
        self.stats = IngestStats()
        self._check_own_pending = True
        self._last_claim = 0.0
        self.arrivals = ArrivalRate()
        self._peers = 1
        self._peers_counted = -math.inf

    def ensure_group(self) -> None:
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(
        self,
        stop: threading.Event | None = None,
        *,
        until_idle: bool = False,
        on_batch: Callable[[IngestStats], None] | None = None,
    ) -> IngestStats:
        """Consume until ``stop`` is set (or, with ``until_idle``, until nothing is left to read)."""
        stop = stop or threading.Event()
        backoff = 0.5
        self.ensure_group()
        while not stop.is_set():
            try:
                handled = self.step()
                backoff = 0.5
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                logger.warning("Stream or consumer group missing (Redis restarted?); recreating it")
                self.ensure_group()
                continue
            except (redis.ConnectionError, redis.TimeoutError, *_UNAVAILABLE) as exc:
                logger.warning("Ingest paused (%s); retrying in %.1fs", exc, backoff)
                self._check_own_pending = True
                close_old_connections()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if on_batch is not None and handled:
                on_batch(self.stats)
            if until_idle and not handled:
                break
        return self.stats

    def step(self) -> int:
        """Read and process one batch; return how many messages it held.

        Order: messages abandoned by a dead consumer, then this consumer's own unacknowledged
        ones (after a restart or a failure), then new ones.
        """
        messages = self._claim_stale()
        if not messages and self._check_own_pending:
            messages = self._read(own_pending=True)
            self._check_own_pending = bool(messages)
        if not messages:
            messages = self._read(own_pending=False)
            self.arrivals.add(len(messages))
            messages += self._linger(len(messages))
        if messages:
            self.stats.batches += 1
            self.process(messages)
        return len(messages)

    def _read(
        self, *, own_pending: bool, count: int | None = None, block: bool = True
    ) -> list[Message]:
        reply = self.redis.xreadgroup(
            self.group,
            self.name,
            {self.stream: "0" if own_pending else ">"},
            count=count or self.batch_size,
            block=app_settings.INGEST_BLOCK_MS if block and not own_pending else None,
        )
        if not reply:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: [entries]}; replies are not decoded.
        entries = cast(
            list[Message],
            reply[0][1] if isinstance(reply, list) else next(iter(reply.values()))[0],
        )
        return [(msg_id, fields) for msg_id, fields in entries if fields]

    def _linger(self, received: int) -> list[Message]:
        """More new messages after a short wait, when the first read brought a partial batch
        and messages arrive fast enough that the wait gathers more (:class:`ArrivalRate`)."""
        if not received:
            return []
        # The threshold is the stream's rate; the group shares it out, so each of N consumers
        # sees about 1/N of it and compares that with 1/N of the threshold.
        wait = self.arrivals.wait_s(
            missing=self.batch_size - received,
            min_rate=self.linger_min_rate / self.active_consumers(),
            max_wait_s=self.linger_ms / 1000,
        )
        if wait <= 0:
            return []
        time.sleep(wait)
        more = self._read(own_pending=False, count=self.batch_size - received, block=False)
        self.arrivals.add(len(more))
        return more

    #: How often the group's active consumers are counted again (seconds).
    PEERS_EVERY_S = 5.0

    def active_consumers(self) -> int:
        """Consumers of the group that read within the last few blocking reads, this one
        included (counted at most every :attr:`PEERS_EVERY_S`; 1 if the count fails)."""
        now = time.monotonic()
        if now - self._peers_counted >= self.PEERS_EVERY_S and self.linger_min_rate > 0:
            self._peers_counted = now
            recent_ms = 3 * app_settings.INGEST_BLOCK_MS + 1000
            try:
                members = self.redis.xinfo_consumers(self.stream, self.group)
            except redis.RedisError:
                members = []
            self._peers = max(
                1, sum(1 for member in members if int(member.get("idle", 0)) < recent_ms)
            )
        return self._peers

    def _claim_stale(self) -> list[Message]:
        """Take over messages another consumer read but never acknowledged (it crashed)."""
        idle_ms = self.claim_idle_ms
        now = time.monotonic()
        if now - self._last_claim < idle_ms / 2000:
            return []
        self._last_claim = now
        _cursor, claimed, *_ = self.redis.xautoclaim(
            self.stream, self.group, self.name, min_idle_time=idle_ms, count=self.batch_size
        )
        if claimed:
            logger.info("Claimed %d message(s) left pending by another consumer", len(claimed))
        return [(msg_id, fields) for msg_id, fields in claimed if fields]

    def process(self, messages: list[Message]) -> None:
        decoded: list[tuple[bytes, list[EventRecord]]] = []
        for msg_id, fields in messages:
            try:
                decoded.append((msg_id, loads(fields[STREAM_FIELD])))
            except Exception as exc:  # any error: decoding is pure, so the message itself is bad
                self._dead_letter(
                    msg_id, fields, f"undecodable: {type(exc).__name__}: {exc}"[:1000]
                )
        if not decoded:
            return
        try:
            self._store([msg_id for msg_id, _ in decoded], [r for _, recs in decoded for r in recs])
        except _UNAVAILABLE:
            raise
        except _STORE_FAILED as exc:
            logger.warning(
                "Batch of %d message(s) failed (%s); retrying one by one", len(decoded), exc
            )
            for msg_id, records in decoded:
                self._store_alone(msg_id, records, messages)

    def _store(self, msg_ids: list[bytes], records: list[EventRecord]) -> None:
        new = insert_events(records)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, *msg_ids)
        pipe.xdel(self.stream, *msg_ids)
        pipe.hdel(self._failures_key(), *msg_ids)
        pipe.execute()
        self.stats.messages += len(msg_ids)
        self.stats.stored += len(new)
        self.stats.duplicates += len(records) - len(new)
        if new:
            try:
                live.update(self.redis, new)
            except redis.RedisError:
                logger.exception("Live state not updated for %d event(s)", len(new))
            events_stored.send(sender=Consumer, count=len(new), records=new)

    def _store_alone(self, msg_id: bytes, records: list[EventRecord], batch: list[Message]) -> None:
        try:
            self._store([msg_id], records)
        except _UNAVAILABLE:
            raise
        except _STORE_FAILED as exc:
            failures = self.redis.hincrby(self._failures_key(), msg_id, 1)
            if failures >= app_settings.INGEST_MAX_DELIVERIES:
                fields = dict(batch)[msg_id]
                self._dead_letter(msg_id, fields, f"failed {failures} times: {exc}")
            else:
                self._check_own_pending = True

    def _dead_letter(self, msg_id: bytes, fields: dict[bytes, bytes], reason: str) -> None:
        logger.error("Message %s moved to the dead-letter stream: %s", msg_id.decode(), reason)
        pipe = self.redis.pipeline(transaction=True)
        entry: dict[FieldT, EncodableT] = dict(fields.items())
        entry[b"reason"] = reason[:1000]
        entry[b"id"] = msg_id
        pipe.xadd(dead_letter_key(), entry)
        pipe.xack(self.stream, self.group, msg_id)
        pipe.xdel(self.stream, msg_id)
        pipe.hdel(self._failures_key(), msg_id)
        pipe.execute()
        self.stats.dead_lettered += 1

    def _failures_key(self) -> str:
        return app_settings.key("events", "failures")
