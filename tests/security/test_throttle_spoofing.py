"""Throttles count each client once, however it fills X-Forwarded-For, and name no IP in keys."""

from __future__ import annotations

import random
import threading
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from recommendations.api.throttling import OptionalScopedRateThrottle, client_address

pytestmark = pytest.mark.django_db
URL = reverse("recommendations:recommendations", args=["trending"])


@pytest.fixture
def limit_of(monkeypatch: pytest.MonkeyPatch):
    def set_limit(rate: str) -> None:
        monkeypatch.setattr(OptionalScopedRateThrottle, "THROTTLE_RATES", {"recommendations": rate})
        cache.clear()

    return set_limit


def random_address() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def throttle_keys() -> list[str]:
    if settings.SERVICES_MODE:
        from django_redis import get_redis_connection

        return [k.decode() for k in get_redis_connection("default").scan_iter("*throttle*")]
    return [k for k in cache._cache if "throttle" in k]  # type: ignore[attr-defined]  # locmem


def test_random_x_forwarded_for_does_not_make_a_new_client(limit_of):
    limit_of("5/min")
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [
        client.get(URL, HTTP_X_FORWARDED_FOR=random_address()).status_code for _ in range(200)
    ]
    assert statuses.count(200) == 5
    assert statuses[5:] == [429] * 195
    keys = throttle_keys()
    assert keys
    assert not any("203.0.113.7" in key or "203_0_113_7" in key for key in keys)
    assert all(key.count(".") == 0 for key in keys)  # no address of either family in clear


def test_the_429_says_when_to_retry(limit_of):
    limit_of("1/min")
    client = Client()
    assert client.get(URL).status_code == 200
    throttled = client.get(URL)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60


def test_distinct_addresses_have_their_own_counters(limit_of):
    limit_of("2/min")
    for address in ("198.51.100.1", "198.51.100.2"):
        client = Client(REMOTE_ADDR=address)
        assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 429]


def test_a_configured_proxy_count_trusts_that_many_addresses(settings):
    request = SimpleNamespace(
        META={"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 192.0.2.9"}
    )
    assert client_address(request) == "10.0.0.1"  # type: ignore[arg-type]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(request) == "192.0.2.9"  # type: ignore[arg-type]  # not the spoofable 6.6.6.6


def test_the_counter_is_atomic_under_concurrency(limit_of):
    """Forty threads, 400 requests, a limit of 100: exactly 100 pass. DRF's history list (read,
    append, write back) lets concurrent requests overwrite each other's entries."""
    limit_of("100/hour")
    request = SimpleNamespace(
        META={"REMOTE_ADDR": "192.0.2.44"}, user=AnonymousUser(), _request=None
    )
    view = SimpleNamespace(throttle_scope="recommendations")
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def hammer() -> None:
        start.wait()
        for _ in range(10):
            verdict = OptionalScopedRateThrottle().allow_request(request, view)  # type: ignore[arg-type]
            with lock:
                allowed.append(verdict)

    threads = [threading.Thread(target=hammer) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 400
    assert allowed.count(True) == 100


@pytest.mark.services
def test_a_hung_redis_costs_the_throttle_one_timeout_not_one_per_request(limit_of, settings):
    """Django's cache may swallow Redis errors (``DJANGO_REDIS_IGNORE_EXCEPTIONS``), so a
    counter kept there never says it failed; the app's own counter opens the breaker."""
    import signal

    from recommendations import redis_client
    from tests.processes import app_on_private_redis

    with app_on_private_redis(settings, REDIS_TIMEOUT=0.1) as (_, server):
        limit_of("5/min")
        client = Client()
        assert client.get(URL).status_code == 200
        assert redis_client.available()
        server.send_signal(signal.SIGSTOP)
        throttle = OptionalScopedRateThrottle()
        assert throttle._increment("recommendations:throttle:test:hung:1", 60) is None
        assert not redis_client.available()  # the breaker is open: the next requests skip Redis
        for _ in range(10):
            assert client.get(URL).status_code == 200  # counted nowhere, served
