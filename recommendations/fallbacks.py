"""Noting and counting the times a request was answered from a fallback.

A recommendation built without the active model, the precomputed lists or the database is still
served, marked ``degraded``; a beacon whose items could not be checked is still queued. Such
answers are right to give and wrong to hide: each fallback is noted on the request being answered
(:func:`collecting`, so the API can say ``degraded: true``) and counted per day and kind, so that
an outage shows in admin even when nobody read the logs.

Counts live in one Redis hash per day (every web process adds to it). While Redis is away, or in
embedded mode, they are kept in the process and added to Redis on the next fallback that can reach
it; :func:`daily_counts` reads both.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

import redis
from django.utils import timezone

from . import redis_client
from .conf import app_settings
from .types import Fallback

logger = logging.getLogger("recommendations.fallbacks")

#: Days a day's counts are kept in Redis.
KEEP_DAYS = 40

_noted: ContextVar[set[Fallback] | None] = ContextVar("recommendations_fallbacks", default=None)
_lock = threading.Lock()
#: Counts not yet in Redis, by (day, fallback).
_pending: Counter[tuple[date, Fallback]] = Counter()


@contextmanager
def collecting() -> Iterator[set[Fallback]]:
    """Collect the fallbacks noted while the block runs (in this thread or task) into a set.

    Blocks nest: an inner block starts with what the outer one holds (a view's anonymous
    fallback makes the list it serves degraded) and gives back what it noted.
    """
    outer = _noted.get()
    noted: set[Fallback] = set(outer or ())
    token = _noted.set(noted)
    try:
        yield noted
    finally:
        _noted.reset(token)
        if outer is not None:
            outer |= noted


def note(fallback: Fallback) -> None:
    """Record that ``fallback`` answered part of the current request; counted once per request."""
    noted = _noted.get()
    if noted is not None:
        if fallback in noted:
            return
        noted.add(fallback)
    with _lock:
        _pending[(timezone.localdate(), fallback)] += 1
    _flush()


def _key(day: date) -> str:
    return app_settings.key("fallbacks", day.isoformat())


def _flush() -> None:
    """Add the pending counts to Redis, unless Redis is away (they wait for the next call)."""
    if not app_settings.services_mode or not redis_client.available():
        return
    with _lock:
        pending = dict(_pending)
        _pending.clear()
    if not pending:
        return
    try:
        pipe = redis_client.get_redis().pipeline(transaction=False)
        for (day, fallback), count in pending.items():
            pipe.hincrby(_key(day), fallback.value, count)
            pipe.expire(_key(day), KEEP_DAYS * 86400)
        pipe.execute()
    except redis.RedisError as exc:
        redis_client.mark_down()
        logger.warning("Fallback counts kept in the process: Redis unavailable (%s)", exc)
        with _lock:
            _pending.update(pending)


def daily_counts(days: list[date]) -> dict[Fallback, dict[date, int]]:
    """Fallbacks counted on each of ``days``: every process's counts in Redis, plus what this
    process holds that has not reached Redis yet."""
    counts: dict[Fallback, dict[date, int]] = {}

    def add(day: date, name: str, value: int) -> None:
        try:
            fallback = Fallback(name)
        except ValueError:  # a kind an older version counted
            return
        by_day = counts.setdefault(fallback, {})
        by_day[day] = by_day.get(day, 0) + value

    if app_settings.services_mode and redis_client.available():
        try:
            pipe = redis_client.get_redis().pipeline(transaction=False)
            for day in days:
                pipe.hgetall(_key(day))
            for day, stored in zip(days, pipe.execute(), strict=True):
                for name, value in stored.items():
                    add(day, name.decode(), int(value))
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning("Fallback counts in Redis unavailable (%s)", exc)
    with _lock:
        pending = dict(_pending)
    wanted = set(days)
    for (day, fallback), value in pending.items():
        if day in wanted:
            add(day, fallback.value, value)
    return counts


def reset() -> None:
    """Forget this process's pending counts (tests)."""
    with _lock:
        _pending.clear()
