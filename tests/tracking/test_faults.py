"""Faults with real processes: a consumer killed mid-batch, Redis stopped, storage gone."""

from __future__ import annotations

import signal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse

from recommendations import redis_client
from recommendations.models import Event
from recommendations.tracking.ingest import group_name
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver, dropped, stream_key
from tests.processes import child_env, free_port, start_manage, start_redis_server, stop, wait_for

from .conftest import event, post_events, product_url

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _pending() -> int:
    return redis_client.get_redis().xpending(stream_key(), group_name())["pending"]


@pytest.mark.parametrize("restart_as", ["same-name", "other-name"])
def test_consumer_killed_mid_batch_loses_and_duplicates_nothing(tmp_path, restart_as):
    total = 40_000
    for start in range(0, total, 100):
        deliver(
            [
                EventRecord(kind=1, item_id=str(i % 50), visitor_id=f"v{i % 300}")
                for i in range(start, start + 100)
            ]
        )
    log = tmp_path / "consumer.log"
    first = start_manage(
        "recommendations_ingest", "--name", "victim", "--batch-size", "20", log=log
    )
    try:
        assert wait_for(lambda: Event.objects.count() >= 4_000, timeout=60), log.read_text()
    finally:
        stop(first, signal.SIGKILL)
    stored_at_kill = Event.objects.count()
    assert stored_at_kill < total, "the consumer finished before it could be killed"

    name = "victim" if restart_as == "same-name" else "heir"
    second = start_manage(
        "recommendations_ingest", "--name", name, "--claim-idle-ms", "200", "--until-idle", log=log
    )
    try:
        assert wait_for(lambda: second.poll() is not None, timeout=120), log.read_text()
    finally:
        stop(second)
    assert second.returncode == 0, log.read_text()
    assert Event.objects.count() == total
    assert Event.objects.values("event_id").distinct().count() == total
    assert _pending() == 0
    assert redis_client.get_redis().xlen(stream_key()) == 0


def test_pages_keep_working_while_redis_is_down_and_no_event_is_lost(tmp_path, settings, products):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = start_redis_server(port)
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": url,
        "REDIS_RETRY_AFTER": 0.2,
        "BOT_BURST_LIMIT": None,  # one visitor makes 30 quick views here; bursts: test_bots.py
    }
    log = tmp_path / "consumer.log"
    consumer = start_manage(
        "recommendations_ingest", "--name", "c", env=child_env(REDIS_URL=url), log=log
    )
    client = Client()
    views = 0
    try:
        for product in products:
            assert client.get(product_url(product)).status_code == 200
            views += 1
        assert wait_for(lambda: Event.objects.count() == views, timeout=30), log.read_text()

        stop(redis_server, signal.SIGKILL)
        for product in products * 4:
            assert client.get(product_url(product)).status_code == 200
            views += 1
        response = post_events(client, [event("click", str(products[0].pk))])
        assert response.status_code == 202
        views += 1
        assert Event.objects.count() == views  # written straight to the database

        redis_server = start_redis_server(port)
        wait_for(lambda: redis_client.available(), timeout=2)
        for product in products:
            assert client.get(product_url(product)).status_code == 200
            views += 1
        assert wait_for(lambda: Event.objects.count() == views, timeout=60), log.read_text()
        assert Event.objects.values("event_id").distinct().count() == views
    finally:
        stop(consumer)
        stop(redis_server)


def test_with_redis_and_the_event_table_gone_pages_render_and_the_beacon_asks_to_retry(
    settings, products
):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "REDIS_TIMEOUT": 0.05,
    }
    cache.clear()  # popularity must be computed, from a table that is gone
    client = Client()
    before = dropped.value
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        assert client.get(product_url(products[0])).status_code == 200
        assert client.get(reverse("shop:home")).status_code == 200
        response = post_events(client, [event("click", str(products[0].pk))])
        assert response.status_code == 503
        assert response["Retry-After"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
    assert dropped.value == before + 2
    assert not Event.objects.exists()


@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_after_redis_fails_once_pages_stop_asking_it(settings, products, fault, monkeypatch):
    """Redis killed, or stopped with SIGSTOP (it accepts connections and never answers): the
    first request pays one timeout, and until ``REDIS_RETRY_AFTER`` has passed no request of a
    page or of the recommendations API sends Redis anything, the list store, live state, the
    popularity cache and the fragment cache included. (The slowdown this prevents was measured
    at 3.5 s per page with Redis down and 7.9 s hung.)"""
    import redis

    port = free_port()
    server = start_redis_server(port)
    url = f"redis://127.0.0.1:{port}/0"
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": url,
        "REDIS_TIMEOUT": 0.2,
        "REDIS_RETRY_AFTER": 60.0,
        "BOT_BURST_LIMIT": None,
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    client = Client()
    pages = [product_url(p) for p in products]
    api = "/recommendations/api/recommendations/{}/"
    try:
        assert client.get(pages[0]).status_code == 200
        stop(server, signal.SIGKILL) if fault == "killed" else server.send_signal(signal.SIGSTOP)
        assert client.get(pages[1]).status_code == 200  # pays for finding out
        assert not redis_client.available()

        sent: list[object] = []
        real = redis.connection.AbstractConnection.send_packed_command

        def counting(self, command, check_health=True):  # a spy: the real call still happens
            sent.append(command)
            return real(self, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
        for page in pages[2:]:
            assert client.get(page).status_code == 200
        for slot, params in (
            ("for-you", {}),
            ("trending", {}),
            ("similar", {"item": products[0].pk}),
        ):
            response = client.get(api.format(slot), params)
            assert response.status_code == 200, slot
        assert sent == []
    finally:
        if fault == "hung":
            server.send_signal(signal.SIGCONT)
        stop(server)
