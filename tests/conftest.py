"""Shared fixtures.

Tests marked ``services`` need real PostgreSQL and Redis (``DATABASE_URL`` and ``REDIS_URL``); they are
skipped in embedded mode and ``.ci/run`` fails if any of them was skipped.
"""

from __future__ import annotations

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.SERVICES_MODE:
        return
    skip = pytest.mark.skip(reason="services mode only: set DATABASE_URL and REDIS_URL")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Each test starts with none of the app's keys in Redis and a closed breaker."""
    from recommendations import redis_client

    redis_client.reset()
    if settings.SERVICES_MODE:
        client = redis_client.get_redis(timeout=2.0)
        keys = list(client.scan_iter("recommendations:*", count=1000))
        if keys:
            client.delete(*keys)
    yield
    redis_client.reset()
