"""Throttling that a project turns on by naming a rate, instead of having to name one."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import Any

import redis
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.serving.pipeline import RequestCount

#: Cache keys are ``recommendations:throttle:<scope>:<keyed hash of the client>:<window>``.
KEY_PREFIX = "recommendations:throttle"
_HASH_SALT = "recommendations.api.throttling"
#: The request attribute holding a count the view makes itself (:func:`deferred_count`).
_DEFERRED = "_recommendations_deferred_count"


@dataclass(frozen=True)
class DeferredCount:
    """A request the throttle let through uncounted, for the view to count in the round trip
    that reads its list (``RequestCount``), or at once with :meth:`count_now`."""

    count: RequestCount
    throttle: OptionalScopedRateThrottle

    def over_limit(self) -> bool:
        """Count the request now; whether it is over the limit (as ``allow_request`` would)."""
        counted = self.count.increment()
        return counted is not None and counted > self.count.limit


def deferred_count(request: HttpRequest | Request) -> DeferredCount | None:
    """The request's deferred count, taken (a second call answers ``None``)."""
    raw = request._request if isinstance(request, Request) else request
    deferred = getattr(raw, _DEFERRED, None)
    if deferred is not None:
        delattr(raw, _DEFERRED)
    return deferred


def client_address(request: HttpRequest | Request) -> str | None:
    """The client's address, trusting ``X-Forwarded-For`` only as far as ``NUM_PROXIES`` says.

    DRF's own ``get_ident`` uses the whole ``X-Forwarded-For`` header when ``NUM_PROXIES`` is
    unset, so a client that sends a random value on every request is a new client every time: the
    outside test got 200 of 200 requests through a limit of 60. Here an unset ``NUM_PROXIES``
    means none (the header is ignored); behind N trusted proxies, set it to N and the N-th address
    from the right, the one the outermost trusted proxy saw, is used.
    """
    meta = request.META
    remote_addr = meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES or 0
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(num_proxies, len(addresses))]


def anonymised_client_address(request: HttpRequest | Request) -> str | None:
    """``client_address`` with the host part zeroed (IPv4 /24, IPv6 /48).

    For stores that must keep an address, such as django-axes' failed-login records in the demo's
    admin: close enough to see where guessing comes from, without storing anyone's raw IP.
    """
    address = client_address(request)
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False).network_address)


def hashed_ident(value: str) -> str:
    """A keyed hash of a client identity: stable for one ``SECRET_KEY``, useless without it, so
    that a cache dump (``KEYS *`` on the shared Redis) lists no client's IP address."""
    return salted_hmac(_HASH_SALT, value, algorithm="sha256").hexdigest()[:32]


class OptionalScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, off for a scope without a rate in ``DEFAULT_THROTTLE_RATES``.

    DRF's own raises ImproperlyConfigured there, which made every beacon batch and API request of
    a store that followed the quick start (no ``REST_FRAMEWORK`` setting at all) fail with a 500.

    Counting is one atomic increment of a fixed-window counter in the shared cache (Redis in
    services mode), not DRF's read-modify-write list of timestamps, which lets concurrent requests
    on several workers overwrite each other's entries and under-count. The client is named in the
    key only by a keyed hash (see ``hashed_ident``).

    A cache that fails lets the request through: throttling must never take the store down.
    """

    #: Seconds until the current window ends, for ``Retry-After``; set by ``allow_request``.
    _retry_after: float | None = None
    #: A view with this attribute set counts its requests itself (:func:`deferred_count`), so
    #: that in services mode the count rides on the round trip that reads its answer.
    deferred_attr = "throttle_count_deferred"

    def get_rate(self) -> str | None:
        if self.scope is None:
            return None
        return self.THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request) or ""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"{KEY_PREFIX}:{self.scope}:{hashed_ident(ident)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        base = self.get_cache_key(request, view)
        if base is None or not self.num_requests or not self.duration:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self._retry_after = (window + 1) * self.duration - now
        key, duration = f"{base}:{window}", self.duration
        if (
            getattr(view, self.deferred_attr, False)
            and app_settings.services_mode
            and redis_client.available()
        ):
            deferred = RequestCount(
                key, duration + 1, self.num_requests, lambda: self._increment(key, duration)
            )
            setattr(request._request, _DEFERRED, DeferredCount(deferred, self))
            return True
        count = self._increment(key, duration)
        if count is None:
            return True
        return count <= self.num_requests

    def _increment(self, key: str, duration: int) -> int | None:
        """The window's count after this request, or None when no counter can be reached.

        In services mode the counter is the app's own Redis (``SET NX EX`` and ``INCR`` in one
        round trip), behind the breaker: a failure opens it, so a hung Redis costs one timeout
        per ``REDIS_RETRY_AFTER``, not one per request (Django's cache may be configured to
        swallow errors, and then never says it failed). Otherwise Django's cache.
        """
        if app_settings.services_mode:
            return self._increment_in_redis(key, duration)
        cache = redis_client.shared_cache()
        if cache is None:
            return None
        try:
            # ``add`` creates the counter with its expiry only if it is missing, so that of two
            # concurrent first requests neither resets the other's count.
            cache.add(key, 0, timeout=duration + 1)
            return int(cache.incr(key))
        except ValueError:  # the counter expired between add and incr
            try:
                cache.add(key, 1, timeout=duration + 1)
            except Exception:
                return None
            return 1
        except Exception:
            return None

    @staticmethod
    def _increment_in_redis(key: str, duration: int) -> int | None:
        if not redis_client.available():
            return None
        try:
            pipe = redis_client.get_redis().pipeline(transaction=False)
            pipe.set(key, 0, ex=duration + 1, nx=True)  # a new window's counter, with its expiry
            pipe.incr(key)
            _, count = pipe.execute()
        except redis.RedisError:
            redis_client.mark_down()
            return None
        return int(count)

    def wait(self) -> float | None:
        if self._retry_after is None:
            return None
        return max(1.0, math.ceil(self._retry_after))
