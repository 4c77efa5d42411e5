"""Bursts: a visitor making more tracked requests than a person could is treated as a bot.

The user-agent checks are the adapter's policy (:mod:`recommendations.policies`); this is
tracking's own mechanism, so it applies whatever the adapter answers. It never raises and never
waits long: one pipelined Redis round trip in services mode, or an in-process counter in embedded
mode and while Redis is down (each process then counts on its own, which only makes the limit
looser).
"""

from __future__ import annotations

import enum
import logging
import threading
import time

import redis

from recommendations import redis_client
from recommendations.conf import app_settings

logger = logging.getLogger("recommendations.tracking")


# --- Bursts --------------------------------------------------------------------------------------


class Burst(enum.Enum):
    NONE = 0  # within the limit
    ONGOING = 1  # past the limit, or cooling down after it
    TRIPPED = 2  # this request crossed the limit (reported once per cooldown)


def count_request(visitor_id: str) -> Burst:
    """Count one tracked request of ``visitor_id`` against ``BOT_BURST_LIMIT`` per window; a
    visitor past it stays bursting for ``BOT_BURST_COOLDOWN`` seconds."""
    limit = app_settings.BOT_BURST_LIMIT
    if limit is None:
        return Burst.NONE
    window = max(int(app_settings.BOT_BURST_WINDOW), 1)
    cooldown = float(app_settings.BOT_BURST_COOLDOWN)
    bucket = int(time.time() // window)
    if app_settings.services_mode and redis_client.available():
        try:
            return _redis_count(visitor_id, bucket, limit, window, cooldown)
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning("Redis unavailable (%s); counting bursts in this process", exc)
    return local_counter.count(visitor_id, bucket, limit, cooldown)


def _redis_count(visitor_id: str, bucket: int, limit: int, window: int, cooldown: float) -> Burst:
    """INCR + EXPIRE of the visitor's window and a look at its cooldown flag: one round trip."""
    client = redis_client.get_redis()
    key = app_settings.key("burst", visitor_id, str(bucket))
    flag = app_settings.key("burst", "flagged", visitor_id)
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window + 1)
    pipe.exists(flag)
    count, _, flagged = pipe.execute()
    if flagged:
        return Burst.ONGOING
    if count <= limit:
        return Burst.NONE
    if cooldown > 0:
        newly = client.set(flag, 1, px=max(int(cooldown * 1000), 1), nx=True)
        return Burst.TRIPPED if newly else Burst.ONGOING
    return Burst.TRIPPED if count == limit + 1 else Burst.ONGOING


class LocalBurstCounter:
    """Per-process request counts per visitor and window, for embedded mode and Redis outages.

    Only the current window is kept, so memory is bounded by the visitors of one window.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bucket = -1
        self._counts: dict[str, int] = {}
        self._flagged: dict[str, float] = {}

    def count(self, visitor_id: str, bucket: int, limit: int, cooldown: float) -> Burst:
        now = time.monotonic()
        with self._lock:
            if bucket != self._bucket:
                self._bucket = bucket
                self._counts = {}
                self._flagged = {v: until for v, until in self._flagged.items() if until > now}
            count = self._counts.get(visitor_id, 0) + 1
            self._counts[visitor_id] = count
            if self._flagged.get(visitor_id, 0.0) > now:
                return Burst.ONGOING
            if count <= limit:
                return Burst.NONE
            if cooldown > 0:
                self._flagged[visitor_id] = now + cooldown
                return Burst.TRIPPED
            return Burst.TRIPPED if count == limit + 1 else Burst.ONGOING

    def clear(self) -> None:
        with self._lock:
            self._bucket = -1
            self._counts = {}
            self._flagged = {}


local_counter = LocalBurstCounter()
