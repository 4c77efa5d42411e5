"""Give each pytest-xdist worker a Redis database of its own.

PostgreSQL is already per worker (pytest-django suffixes the test database with the worker's id),
but every worker would share ``REDIS_URL``'s database: one test's clean-up would delete another's
keys and queued events. Loaded with ``-p tests.parallel`` (as ``make test`` does; the suite refuses
to run in parallel without it) so that it runs before Django's settings are read: ``gw0`` keeps the
configured database, ``gw1`` takes the one below it, and so on.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest


def worker_redis_url(url: str, worker: str) -> str:
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0)
    if index > database:
        raise pytest.UsageError(f"{url} leaves no Redis database for xdist worker {worker}")
    return urlunsplit(parts._replace(path=f"/{database - index}"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("REDIS_URL")
    if worker and url:
        os.environ["REDIS_URL"] = worker_redis_url(url, worker)
