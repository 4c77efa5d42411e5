"""Shared fixtures.

Tests marked ``services`` need real PostgreSQL and Redis (``DATABASE_URL`` and ``REDIS_URL``); they are
skipped in embedded mode and ``.ci/run`` fails if any of them was skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") and not config.pluginmanager.has_plugin(
        "tests.parallel"
    ):
        raise pytest.UsageError(
            "Parallel workers would share one Redis database: add -p tests.parallel "
            "(as `make test` does)."
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.SERVICES_MODE:
        return
    skip = pytest.mark.skip(reason="services mode only: set DATABASE_URL and REDIS_URL")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _eager_tasks():
    """Tasks run in the test process; tests about the worker send them with ``send_task``."""
    from shop.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """A real password hash costs 0.4 s on a 2-core machine, once per user created with a
    password and once per login: these tests are about the app, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def drain() -> Callable[[], Any]:
    """Move queued events into the database (services mode); nothing to do in embedded mode."""

    def run() -> Any:
        if not settings.SERVICES_MODE:
            return None
        from recommendations.tracking.ingest import Consumer

        return Consumer("test-consumer").run(until_idle=True)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """With REQUIRE_SERVICES=1 (CI), a skipped services or browser test is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    needs_services = "services" in item.keywords or "browser" in item.keywords
    if report.skipped and needs_services and os.environ.get("REQUIRE_SERVICES") == "1":
        report.outcome = "failed"
        report.longrepr = f"services test skipped under REQUIRE_SERVICES=1: {report.longrepr}"
