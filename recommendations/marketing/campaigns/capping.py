"""Frequency caps: how often one visitor was shown a campaign today.

Counted in Redis (``INCR`` and ``EXPIRE`` in one pipeline, so a counter never outlives its day by
more than a day), behind the app's breaker; in embedded mode, or while Redis is away, in a bounded
counter of this process (a visitor served by two processes may then see a capped campaign a
little more often, which beats a failed page).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import date

import redis

from recommendations import caches, redis_client
from recommendations.conf import app_settings

logger = logging.getLogger("recommendations.marketing")

#: Counters live two days, so one that straddles midnight is still read correctly.
COUNTER_SECONDS = 2 * 86_400
#: Counters kept per process where Redis does not keep them.
LOCAL_COUNTERS = 100_000


class _LocalCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, int] = OrderedDict()

    def incr(self, key: str) -> int:
        with self._lock:
            count = self._counts.pop(key, 0) + 1
            self._counts[key] = count
            while len(self._counts) > LOCAL_COUNTERS:
                self._counts.popitem(last=False)
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_local = _LocalCounters()
caches.register("campaign frequency counters", _local.clear, caches.Change.CAMPAIGNS)


def counter_key(campaign_key: str, person: str, day: date) -> str:
    return app_settings.key("campaigns", "shown", campaign_key, person, day.strftime("%Y%m%d"))


def count_shown(campaign_key: str, person: str, day: date) -> int:
    """Count one more showing of the campaign to ``person`` on ``day``; the count including it."""
    key = counter_key(campaign_key, person, day)
    if app_settings.services_mode and redis_client.available():
        try:
            pipe = redis_client.get_redis().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, COUNTER_SECONDS)
            count, _ = pipe.execute()
            return int(count)
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning("Redis unavailable (%s); counting campaign showings in process", exc)
    return _local.incr(key)
