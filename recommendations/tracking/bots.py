"""Telling bots from people: user agents, headless-browser markers and request bursts.

:func:`detect` is the default of the adapter's ``is_bot``; it never raises and never waits long:
user agent checks are regular expressions (answers cached per agent string) and the burst count is
one pipelined Redis round trip in services mode, or an in-process counter in embedded mode and
while Redis is down (each process then counts on its own, which only makes the limit looser).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from functools import lru_cache

import redis
from crawlerdetect import CrawlerDetect
from django.http import HttpRequest

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models.quarantine import QuarantineReason

logger = logging.getLogger("recommendations.tracking")

#: Set on the request once it has been judged: the reason, or "" for a person.
VERDICT_ATTR = "_recommendations_bot_reason"

#: Set on the request whose burst crossed the limit, so its visitor is flagged once.
TRIPPED_ATTR = "_recommendations_burst_tripped"

#: Only this much of a user agent is examined, so a huge header cannot make matching slow.
USER_AGENT_MAX = 512

#: Automation that announces itself in the user agent or in the client-hint brands
#: (Chrome's headless mode sends ``"HeadlessChrome"`` as a ``Sec-CH-UA`` brand).
HEADLESS_MARKERS = (
    "headless",
    "phantomjs",
    "slimerjs",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "nightmare",
    "zombie.js",
)

_crawlers = CrawlerDetect()


def detect(request: HttpRequest) -> str | None:
    """Why the request looks automated (a :class:`QuarantineReason` value), or None.

    Judged once per request and remembered on it, so a request that records several events
    counts once towards its visitor's burst.
    """
    verdict = getattr(request, VERDICT_ATTR, None)
    if verdict is None:
        verdict = _judge(request) or ""
        setattr(request, VERDICT_ATTR, verdict)
    return verdict or None


def _judge(request: HttpRequest) -> str | None:
    if not app_settings.BOT_DETECTION:
        return None
    headers = request.headers
    reason = agent_reason(
        headers.get("User-Agent", "")[:USER_AGENT_MAX],
        headers.get("Sec-CH-UA", "")[:USER_AGENT_MAX],
    )
    if reason is not None:
        return reason
    from .identity import identity_for

    burst = count_request(identity_for(request).visitor_id)
    if burst is Burst.NONE:
        return None
    if burst is Burst.TRIPPED:
        setattr(request, TRIPPED_ATTR, True)
    return QuarantineReason.BURST.value


@lru_cache(maxsize=4096)
def agent_reason(user_agent: str, client_hints: str = "") -> str | None:
    """``headless`` or ``crawler`` for an automated user agent, None for a browser (or none at
    all: API clients and tests often send no user agent, and refusing them would lose people)."""
    lowered = user_agent.lower()
    if any(marker in lowered for marker in HEADLESS_MARKERS) or (
        "headless" in client_hints.lower()
    ):
        return QuarantineReason.HEADLESS.value
    if lowered.strip() and _crawlers.is_crawler(user_agent):
        return QuarantineReason.CRAWLER.value
    return None


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
