"""Live state in Redis, kept by the ingest consumer: recent items and trending counters.

Trending is a time-decayed count per item. Instead of decaying every counter as time passes, each
increment is scaled up by ``2 ** ((ts - epoch) / half_life)``; ranking by the stored score is then
ranking by decayed count. Scores are rebased onto a newer epoch before they grow too large.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import cast

import redis

from recommendations.conf import app_settings
from recommendations.models import EventKind

from .records import EventRecord

_RECENT_KINDS = {int(EventKind.VIEW), int(EventKind.ADD_TO_CART), int(EventKind.PURCHASE)}
_REBASE_AFTER_HALF_LIVES = 32


def recent_key(*, visitor_id: str | None = None, user_id: int | None = None) -> str:
    if user_id is not None:
        return app_settings.key("recent", "user", str(user_id))
    return app_settings.key("recent", "visitor", str(visitor_id))


def trending_key() -> str:
    return app_settings.key("trending")


def _epoch_key() -> str:
    return app_settings.key("trending", "epoch")


def update(client: redis.Redis, records: Iterable[EventRecord]) -> None:
    """Fold newly stored events into the live state (one pipelined round trip)."""
    weights = {
        int(EventKind.from_name(name)): w for name, w in app_settings.TRENDING_WEIGHTS.items()
    }
    half_life = float(app_settings.TRENDING_HALF_LIFE)
    epoch = _current_epoch(client, half_life)
    limit = app_settings.RECENT_ITEMS
    ttl = app_settings.RECENT_ITEMS_TTL
    trending: dict[str, float] = {}
    recent: dict[str, dict[str, float]] = {}
    for record in records:
        if record.kind in _RECENT_KINDS and record.item_id:
            when = record.ts.timestamp()
            keys = [recent_key(visitor_id=record.visitor_id)]
            if record.user_id is not None:
                keys.append(recent_key(user_id=record.user_id))
            for key in keys:
                items = recent.setdefault(key, {})
                items[record.item_id] = max(items.get(record.item_id, 0.0), when)
        weight = weights.get(record.kind)
        if weight and record.item_id:
            boost = weight * 2.0 ** ((record.ts.timestamp() - epoch) / half_life)
            trending[record.item_id] = trending.get(record.item_id, 0.0) + boost
    pipe = client.pipeline(transaction=False)
    for key, items in recent.items():
        # A sorted set by time: re-viewing an item moves it to the front instead of repeating it.
        pipe.zadd(key, items, gt=True)
        pipe.zremrangebyrank(key, 0, -limit - 1)
        pipe.expire(key, ttl)
    if trending:
        for item_id, score in trending.items():
            pipe.zincrby(trending_key(), score, item_id)
    pipe.execute()


def forget(client: redis.Redis, events: Iterable[tuple[str, int, float]]) -> int:
    """Take ``(item_id, kind, unix time)`` events back out of the trending counters (an erase):
    each comes off with the boost :func:`update` gave it, so the counters are what they would be
    without them. Counters left at (about) zero are removed. Returns the items touched."""
    weights = {
        int(EventKind.from_name(name)): w for name, w in app_settings.TRENDING_WEIGHTS.items()
    }
    stored = client.get(_epoch_key())
    if stored is None:
        return 0
    epoch, half_life = float(cast(bytes, stored)), float(app_settings.TRENDING_HALF_LIFE)
    taken: dict[str, float] = {}
    for item_id, kind, when in events:
        weight = weights.get(kind)
        if weight and item_id:
            taken[item_id] = taken.get(item_id, 0.0) + weight * 2.0 ** ((when - epoch) / half_life)
    if not taken:
        return 0
    pipe = client.pipeline(transaction=False)
    for item_id, score in taken.items():
        pipe.zincrby(trending_key(), -score, item_id)
    left = pipe.execute()
    gone = [
        item_id
        for (item_id, score), remaining in zip(taken.items(), left, strict=True)
        if float(remaining) <= 1e-9 * score
    ]
    if gone:
        client.zrem(trending_key(), *gone)
    return len(taken)


def _current_epoch(client: redis.Redis, half_life: float) -> float:
    now = time.time()
    stored = client.get(_epoch_key())
    if stored is None:
        client.set(_epoch_key(), now, nx=True)
        return float(cast(bytes, client.get(_epoch_key())))  # set just above
    epoch = float(stored)
    if now - epoch > _REBASE_AFTER_HALF_LIVES * half_life:
        factor = 2.0 ** (-(now - epoch) / half_life)
        pipe = client.pipeline(transaction=True)
        pipe.zunionstore(trending_key(), {trending_key(): factor})
        pipe.set(_epoch_key(), now)
        pipe.execute()
        epoch = now
    return epoch


def recent_items(
    client: redis.Redis,
    *,
    visitor_id: str | None = None,
    user_id: int | None = None,
    limit: int = 10,
) -> list[str]:
    """Most recent first."""
    key = recent_key(visitor_id=visitor_id, user_id=user_id)
    items = cast(list[bytes], client.zrevrange(key, 0, limit - 1))  # replies are not decoded
    return [item.decode() for item in items]


def trending(client: redis.Redis, limit: int = 10) -> list[tuple[str, float]]:
    """``(item_id, decayed count now)``, highest first."""
    stored = client.get(_epoch_key())
    if stored is None:
        return []
    scale = 2.0 ** (-(time.time() - float(stored)) / float(app_settings.TRENDING_HALF_LIFE))
    rows = cast(
        list[tuple[bytes, float]], client.zrevrange(trending_key(), 0, limit - 1, withscores=True)
    )
    return [(item.decode(), score * scale) for item, score in rows if math.isfinite(score)]
