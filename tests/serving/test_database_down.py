"""PostgreSQL down, for real: a store on a private cluster and a private Redis, served by
gunicorn; the cluster is stopped under it and started again.

While the database is away the beacon still queues batches on the stream (202) and the
recommendations API answers 200 from what Redis and the process hold, saying ``degraded``; with
Redis gone too, a batch has nowhere durable to go and the beacon says so (503 + Retry-After).
Once the database is back, the first request succeeds and the queued events are stored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from recommendations.models import EventKind
from tests.processes import (
    ROOT,
    PrivateCluster,
    free_port,
    start_manage,
    start_redis_server,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

#: Tracking counts ``python-requests`` as a bot: the test is a shopper's browser.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@dataclass
class Store:
    cluster: PrivateCluster
    redis_server: subprocess.Popen
    redis_port: int
    base: str
    log: Path
    session: requests.Session

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def beacon(self, *item_ids: str) -> requests.Response:
        events = [
            {"event_id": str(uuid.uuid4()), "kind": "click", "item_id": item_id}
            for item_id in item_ids
        ]
        return self.session.post(
            self.base + "/recommendations/api/events/", json={"events": events}, timeout=10
        )

    def clicks_stored(self) -> int:
        try:
            with psycopg.connect(self.cluster.url("shop"), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM recommendations_event WHERE kind = %s",
                    [int(EventKind.CLICK)],
                ).fetchone()
        except psycopg.OperationalError:
            return -1
        return int(row[0]) if row else 0


def _manage(env: dict[str, str], *args: str, log: Path) -> None:
    with open(log, "ab") as out:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    log = tmp_path_factory.mktemp("database-down") / "store.log"
    cluster = PrivateCluster(free_port())
    cluster.start()
    redis_port = free_port()
    redis_server = start_redis_server(redis_port)
    web = consumer = None
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url("shop"),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "SILENCED_SYSTEM_CHECKS": "recommendations.W003",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "BOT_BURST_LIMIT": "",
            "PYTHONUNBUFFERED": "1",
        }
        _manage(env, "migrate", "--noinput", log=log)
        _manage(
            env, "shop_seed_demo", "--products", "60", "--customers", "40", "--days", "7", log=log
        )
        _manage(env, "recommendations_train", log=log)
        consumer = start_manage("recommendations_ingest", env=env, log=log)
        port = free_port()
        out = open(log, "ab")  # noqa: SIM115 (closed with the process)
        web = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "shop.wsgi:application", "--workers", "1"),
                *("--bind", f"127.0.0.1:{port}", "--timeout", "30"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(base), timeout=60), log.read_text()
        session = requests.Session()
        session.headers["User-Agent"] = BROWSER
        yield Store(cluster, redis_server, redis_port, base, log, session)
    finally:
        for process in (web, consumer):
            if process is not None:
                stop(process)
        stop(redis_server)
        cluster.remove()


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_beacon_and_recommendations_survive_the_database_and_recover(store: Store) -> None:
    # Warm the web process with the database up: the lists a product page shows.
    trending_up = store.get("/recommendations/api/recommendations/trending/").json()["items"]
    item_id, unchecked_id = trending_up[0]["item_id"], trending_up[-1]["item_id"]
    up = store.get("/recommendations/api/recommendations/similar/", item=item_id)
    assert up.status_code == 200 and up.json()["degraded"] is False
    before = store.clicks_stored()
    assert store.beacon(item_id).json() == {"accepted": 1}
    assert wait_for(lambda: store.clicks_stored() == before + 1, timeout=30), store.log.read_text()

    store.cluster.stop()
    try:
        down = store.get("/recommendations/api/recommendations/similar/", item=item_id)
        assert down.status_code == 200, down.text
        # The lists come from Redis and the items the process already knows (the category's
        # backfill filtered already): not empty, and nothing was left out.
        assert down.json()["items"], down.text
        assert down.json()["degraded"] is False
        trending = store.get("/recommendations/api/recommendations/trending/")
        # Live counters and the stored ranking are in Redis: trending needs no database.
        assert trending.status_code == 200 and trending.json()["items"]
        # An item the process has not seen cannot be checked: 200 and degraded, not 400.
        unchecked = store.get("/recommendations/api/recommendations/similar/", item="999999")
        assert unchecked.status_code == 200 and unchecked.json()["degraded"] is True

        # Items the beacon has not checked before are queued unchecked, and marked so.
        queued = store.beacon(item_id, unchecked_id)
        assert queued.status_code == 202, queued.text
        assert queued.json()["accepted"] == 2

        # Redis hung as well: nothing durable can take a batch, and the beacon says so.
        store.redis_server.send_signal(signal.SIGSTOP)
        try:
            refused = store.beacon(item_id)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["Retry-After"]) > 0
        finally:
            store.redis_server.send_signal(signal.SIGCONT)
    finally:
        store.cluster.start()

    # The first request after the restart succeeds (health-checked persistent connections).
    again = store.get("/recommendations/api/recommendations/similar/", item=item_id)
    assert again.status_code == 200, again.text
    assert store.get(f"/products/{item_id}/").status_code == 200
    # The batch queued while the database was away is stored once it is back.
    assert wait_for(lambda: store.clicks_stored() == before + 3, timeout=60), store.log.read_text()
    with psycopg.connect(store.cluster.url("shop")) as conn:
        marked = conn.execute(
            "SELECT item_id FROM recommendations_event WHERE context ? 'item_unverified'"
        ).fetchall()
    # The batch could not be checked as a whole: both its events say so, and no other does.
    assert sorted(row[0] for row in marked) == sorted([item_id, unchecked_id])

    fallbacks = redis.Redis(port=store.redis_port)
    counted: dict[str, int] = {}
    for key in fallbacks.keys("*:fallbacks:*"):
        for name, value in fallbacks.hgetall(key).items():
            counted[name.decode()] = counted.get(name.decode(), 0) + int(value)
    assert counted.get("database", 0) >= 1, counted  # the unchecked item's similar list
    assert counted.get("unverified-items", 0) >= 1, counted
