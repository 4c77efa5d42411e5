"""PostgreSQL down, for real: a store on a private cluster and a private Redis, served by
gunicorn; the cluster is stopped under it. The campaign endpoint keeps answering 200 with the
campaign the process read before (for everyone: membership cannot be read), and once the
database is back, segment campaigns apply again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from recommendations.marketing.campaigns.live import CACHE_SECONDS
from tests.processes import (
    ROOT,
    PrivateCluster,
    free_port,
    start_redis_server,
    stop,
    wait_for,
)

from .campaign_support import BROWSER, COOKIE, visitor_id

pytestmark = [pytest.mark.services, pytest.mark.slow]

SETUP = """
from datetime import timedelta
from django.utils import timezone
from recommendations.models import Campaign, Segment, SegmentMember
members = Segment.objects.create(key="members", name="Members")
SegmentMember.objects.create(segment=members, member="v:{member}", visitor_id="{member}",
                             entered_at=timezone.now())
start = timezone.now() - timedelta(hours=1)
Campaign.objects.create(key="for-members", name="For members", headline="Members only",
                        link_url="/", starts_at=start, priority=9, holdout_percent=0
                        ).segments.add(members)
Campaign.objects.create(key="for-all", name="For all", headline="Hello", link_url="/",
                        starts_at=start, priority=1, holdout_percent=0)
"""


def _manage(env: dict[str, str], *args: str, log: Path) -> None:
    with open(log, "ab") as out:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300,
        )  # fmt: skip


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/recommendations/api/campaign/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateCluster, str, Path]]:
    log = tmp_path_factory.mktemp("campaign-database-down") / "store.log"
    cluster = PrivateCluster(free_port())
    cluster.start()
    redis_port = free_port()
    redis_server = start_redis_server(redis_port)
    web = None
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
        _manage(env, "shell", "-c", SETUP.format(member=visitor_id(1)), log=log)
        port = free_port()
        out = open(log, "ab")  # noqa: SIM115 (closed with the process)
        web = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "shop.wsgi:application", "--workers", "1"),
                *("--bind", f"127.0.0.1:{port}", "--timeout", "30"),
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _answers(base), timeout=60), log.read_text()
        yield cluster, base, log
    finally:
        if web is not None:
            stop(web)
        stop(redis_server)
        cluster.remove()


def _browser(visitor: str) -> requests.Session:
    from django.core import signing

    from recommendations.tracking.identity import _SALT

    session = requests.Session()
    session.headers["User-Agent"] = BROWSER
    session.cookies.set(COOKIE, signing.get_cookie_signer(salt=COOKIE + _SALT).sign(visitor))
    return session


def _shown(session: requests.Session, base: str) -> str | None:
    response = session.get(base + "/recommendations/api/campaign/", timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()["campaign"]
    return None if body is None else body["key"]


def test_the_campaign_endpoint_answers_while_the_database_is_away(store) -> None:
    cluster, base, log = store
    member = _browser(visitor_id(1))
    assert _shown(member, base) == "for-members", log.read_text()[-3000:]
    assert _shown(_browser(visitor_id(2)), base) == "for-all"
    cluster.stop()
    try:
        assert _shown(member, base) == "for-all"
        # Past the list's expiry: reading it again fails, and the last list is kept.
        time.sleep(CACHE_SECONDS + 0.5)
        assert _shown(member, base) == "for-all"
        assert _shown(_browser(visitor_id(2)), base) == "for-all"
    finally:
        cluster.start()
    assert wait_for(lambda: _shown(member, base) == "for-members", timeout=30)
