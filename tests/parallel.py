"""Give each pytest-xdist worker a Redis database of its own.

PostgreSQL is already per worker (pytest-django suffixes the test database with the worker's id),
but every worker would share ``REDIS_URL``'s database: one test's clean-up would delete another's
keys and queued events. Loaded with ``-p tests.parallel`` (as ``make test`` does; the suite refuses
to run in parallel without it) so that it runs before Django's settings are read: ``gw0`` keeps the
configured database, ``gw1`` takes the one below it, and so on.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest


def worker_redis_url(url: str, worker: str) -> str:
    """``url`` with the database ``worker`` uses; a ``db`` query parameter wins over the path,
    as in redis-py (and is the only way a ``unix://`` URL names one)."""
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    named = query.get("db") or ("" if parts.scheme == "unix" else parts.path.strip("/")) or "0"
    if not named.isdigit():
        raise pytest.UsageError(f"{url} names no Redis database number")
    database = int(named)
    if index > database:
        raise pytest.UsageError(f"{url} leaves no Redis database for xdist worker {worker}")
    if "db" in query or parts.scheme == "unix":
        return f"{url.split('?', 1)[0]}?{urlencode({**query, 'db': database - index})}"
    return urlunsplit(parts._replace(path=f"/{database - index}"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("REDIS_URL")
    if worker and url:
        os.environ["REDIS_URL"] = worker_redis_url(url, worker)
