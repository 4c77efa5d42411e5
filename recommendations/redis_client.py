"""Redis connections for the app, with a breaker for the request path.

Pages must not slow down when Redis is away, so the request path uses short timeouts and, after a
failure, skips Redis instead of paying a timeout per request. Every ``REDIS_RETRY_AFTER`` seconds
a background thread pings it, and only its answer closes the breaker: no request waits for a
Redis that is still hung. Long-running consumers use :func:`get_redis` with ``timeout=None``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import redis
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed

from .conf import app_settings

logger = logging.getLogger("recommendations.redis")

_lock = threading.Lock()
_clients: dict[float | None, redis.Redis] = {}
_down_until = 0.0
_down = False
#: The thread pinging Redis while the breaker is open (a thread does not survive a fork, so its
#: liveness, not a flag, says whether one runs).
_probe_thread: threading.Thread | None = None
#: Whether Django's default cache is a Redis backend: read from ``settings.CACHES`` once, not on
#: every :func:`shared_cache` call (a page makes several); forgotten when ``CACHES`` changes.
_cache_in_redis: bool | None = None


def get_redis(timeout: float | None = -1.0) -> redis.Redis:
    """A client for ``RECOMMENDATIONS['REDIS_URL']``; ``timeout=-1`` means the request-path timeout."""
    url = app_settings.REDIS_URL
    if not url:
        raise RuntimeError("RECOMMENDATIONS['REDIS_URL'] is not set (embedded mode).")
    if timeout == -1.0:
        timeout = app_settings.REDIS_TIMEOUT
    client = _clients.get(timeout)
    if client is None:
        with _lock:
            client = _clients.get(timeout)
            if client is None:
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout if timeout is not None else 5.0,
                    health_check_interval=30,
                )
                _clients[timeout] = client
    return client


def available() -> bool:
    """False while the breaker is open after a failure, until a background ping succeeds."""
    if not _down:
        return True
    if time.monotonic() >= _down_until:
        _start_probe()
    return False


def _start_probe() -> None:
    global _probe_thread
    with _lock:
        if not _down or (_probe_thread is not None and _probe_thread.is_alive()):
            return
        _probe_thread = threading.Thread(
            target=_probe, name="recommendations-redis-probe", daemon=True
        )
        _probe_thread.start()


def _probe() -> None:
    """Ping with the request path's timeout: an answer closes the breaker, silence or an error
    keeps it open for another ``REDIS_RETRY_AFTER``."""
    global _down, _down_until
    try:
        get_redis().ping()
    except Exception:
        with _lock:
            _down_until = time.monotonic() + app_settings.REDIS_RETRY_AFTER
    else:
        with _lock:
            _down = False


def shared_cache() -> BaseCache | None:
    """Django's default cache, or ``None`` while it lives in a Redis the breaker has marked
    down: each read would then wait for its own timeout, and a page reads it several times."""
    global _cache_in_redis
    if _cache_in_redis is None:
        backend = str(settings.CACHES.get("default", {}).get("BACKEND", ""))
        _cache_in_redis = "redis" in backend.lower()
    if _cache_in_redis and not available():
        return None
    return caches["default"]


def mark_down() -> None:
    """Open the breaker: the request path skips Redis until a ping after ``REDIS_RETRY_AFTER``
    seconds answers."""
    global _down, _down_until
    with _lock:
        _down = True
        _down_until = time.monotonic() + app_settings.REDIS_RETRY_AFTER


def reset() -> None:
    """Forget clients and close the breaker (settings changed, or after a fork in tests)."""
    global _down, _down_until
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _down = False
        _down_until = 0.0


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _cache_in_redis
    if setting == "CACHES":
        _cache_in_redis = None
    if setting == "RECOMMENDATIONS":
        reset()


setting_changed.connect(_settings_changed)


def durability_problems(client: redis.Redis) -> list[str]:
    """Why ``client``'s Redis may lose events it has acknowledged: no append-only file (a restart
    loses the stream's backlog), or a ``maxmemory-policy`` that evicts keys (the stream itself can
    be evicted under memory pressure). Read from ``INFO``, which managed Redis services answer
    even where ``CONFIG`` is disabled."""
    persistence = client.info("persistence")
    memory = client.info("memory")
    problems = []
    if not int(persistence.get("aof_enabled", 0)):
        problems.append(
            "appendonly is off: events queued in the stream are lost when Redis restarts"
        )
    policy = str(memory.get("maxmemory_policy", "noeviction"))
    if policy.startswith("allkeys"):  # volatile-* policies evict only keys with a TTL
        problems.append(
            f"maxmemory-policy is {policy}: under memory pressure Redis evicts keys, the event "
            "stream among them"
        )
    return problems


class SeenKeys:
    """A bounded set of keys this process has seen, oldest forgotten first: where Redis cannot
    remember something (embedded mode, an outage), the process remembers it for a while."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Whether ``key`` is new (and remember it)."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def first_time(key: str, seconds: int, local: SeenKeys) -> bool:
    """Whether ``key`` is seen for the first time in ``seconds`` (``SET NX EX`` in Redis behind
    the breaker), else in this process (``local``): how exposures are recorded once."""
    if app_settings.services_mode and available():
        try:
            return bool(get_redis().set(key, b"1", nx=True, ex=seconds))
        except redis.RedisError as exc:
            mark_down()
            logger.warning("Redis unavailable (%s); remembering %s in process", exc, key)
    return local.add(key)
