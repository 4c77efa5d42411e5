"""The Redis breaker is closed by a background ping, never by a request that would wait for a
Redis that is still hung."""

from __future__ import annotations

import signal
import time

import pytest

from recommendations import redis_client
from tests.processes import app_on_private_redis, wait_for

pytestmark = [pytest.mark.services]


def test_a_hung_redis_is_probed_off_the_request_path(settings):
    with app_on_private_redis(settings, REDIS_TIMEOUT=0.2, REDIS_RETRY_AFTER=0.3) as (_, server):
        assert redis_client.get_redis().ping()
        server.send_signal(signal.SIGSTOP)
        redis_client.mark_down()  # as the first request that met the timeout does
        time.sleep(0.4)  # the retry period has passed: a probe starts
        started = time.monotonic()
        answers = [redis_client.available() for _ in range(50)]
        assert answers == [False] * 50
        assert time.monotonic() - started < 0.1  # nobody waited for the ping's timeout
        time.sleep(1.0)  # several probes, all unanswered
        assert not redis_client.available()
        server.send_signal(signal.SIGCONT)
        assert wait_for(redis_client.available, timeout=5)
