"""Hostile and odd beacon bodies get a 400 naming the problem, never a 500, and store nothing;
a wrong client clock is corrected rather than refused; repeated event ids are reported."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from recommendations.models import Event, EventKind
from recommendations.tracking.beacon import CLOCK_SKEW_KEY
from shop.models import Product

from .conftest import EVENTS_URL, event, post_events

pytestmark = pytest.mark.django_db(transaction=True)

HOUR_MS = 3600 * 1000


def ms(moment: Any) -> int:
    return round(moment.timestamp() * 1000)


@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_empty_body_is_400_naming_the_body(
    client: Client, products: list[Product], drain: Callable[[], Any], body: bytes
) -> None:
    response = client.post(EVENTS_URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "body"
    assert "empty" in response.json()["errors"][0]["message"]
    drain()
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"events": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
        b'{"events": [{"kind": "click", "context": {"a": ' + b"[" * 9_000 + b"]" * 9_000 + b"}}]}",
    ],
    ids=["bare", "in-events", "in-context"],
)
def test_deeply_nested_json_is_400(
    client: Client, products: list[Product], drain: Callable[[], Any], body: bytes
) -> None:
    response = client.post(EVENTS_URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "body"
    assert "nested too deeply" in response.json()["errors"][0]["message"]
    drain()
    assert not Event.objects.exists()


def chunked_post(client: Client, body: bytes, **extra: Any) -> Any:
    """A chunked request as a server that decodes chunks (gunicorn, uvicorn) hands it on: the
    decoded body in ``wsgi.input`` and no ``Content-Length``."""
    return client.generic(
        "POST",
        EVENTS_URL,
        b"",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
        **extra,
    )


def test_decoded_chunked_body_is_accepted(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    body = json.dumps({"events": [event("click", str(products[0].pk))]}).encode()
    response = chunked_post(client, body)
    assert response.status_code == 202, response.content
    drain()
    assert Event.objects.count() == 1


def test_size_limit_holds_for_chunked_bodies(
    client: Client, products: list[Product], settings: Any, drain: Callable[[], Any]
) -> None:
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_BYTES": 400}
    small = json.dumps({"events": [event("click", str(products[0].pk), context={"a": "x" * 100})]})
    assert chunked_post(client, small.encode()).status_code == 202
    big = json.dumps({"events": [event("click", str(products[0].pk), context={"a": "x" * 400})]})
    stream = io.BytesIO(big.encode() + b" " * 10_000_000)
    response = client.generic(
        "POST",
        EVENTS_URL,
        b"",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream},
    )
    assert response.status_code == 413
    # The limit plus a bounded drain, never the whole 10 MB body.
    assert stream.tell() <= 400 + 1 + 1024 * 1024
    drain()
    assert Event.objects.count() == 1


def test_chunked_body_of_the_wrong_media_type_is_415(client: Client) -> None:
    response = chunked_post(client, b"<events/>", CONTENT_TYPE="application/xml")
    assert response.status_code == 415


def test_a_clock_two_hours_fast_loses_no_events(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    now = timezone.now()
    fast = now + timedelta(hours=2)
    created = fast - timedelta(seconds=30)
    batch = {
        "events": [event("click", str(products[0].pk), ts=created.isoformat())],
        "sent_at": ms(fast),
    }
    response = post_events(client, batch)
    assert response.status_code == 202, response.content
    drain()
    stored = Event.objects.get()
    expected = now - timedelta(seconds=30)
    assert abs(stored.client_ts - expected) < timedelta(seconds=5)
    skew = stored.context[CLOCK_SKEW_KEY]
    assert abs(skew + 2 * HOUR_MS) < 5_000


def test_a_slow_clock_is_corrected_too(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    slow = timezone.now() - timedelta(days=30)
    batch = {
        "events": [event("view", str(products[0].pk), ts=slow.isoformat())],
        "sent_at": ms(slow),
    }
    assert post_events(client, batch).status_code == 202
    drain()
    stored = Event.objects.get()
    assert abs(stored.client_ts - timezone.now()) < timedelta(seconds=10)
    assert stored.context[CLOCK_SKEW_KEY] > 29 * 24 * HOUR_MS


def test_a_right_clock_is_not_flagged(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    now = timezone.now()
    batch = {
        "events": [event("view", str(products[0].pk), ts=(now - timedelta(seconds=3)).isoformat())],
        "sent_at": ms(now),
    }
    assert post_events(client, batch).status_code == 202
    drain()
    assert CLOCK_SKEW_KEY not in Event.objects.get().context


def test_without_sent_at_a_future_time_is_still_refused(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    response = post_events(client, [event("click", str(products[0].pk), ts=future)])
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 0, "field": "ts", "message": "is in the future"}]
    drain()
    assert not Event.objects.exists()


def test_an_event_created_after_sent_at_is_refused(client: Client, products: list[Product]) -> None:
    sent = timezone.now()
    later = (sent + timedelta(hours=1)).isoformat()
    batch = {"events": [event("click", str(products[0].pk), ts=later)], "sent_at": ms(sent)}
    response = post_events(client, batch)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ts"


@pytest.mark.parametrize("sent_at", ["now", None, True, -1, 0, 1e20, 10**14, [1], 1.5e308])
def test_bad_sent_at_is_400_naming_it(
    client: Client, products: list[Product], drain: Callable[[], Any], sent_at: Any
) -> None:
    batch = {"events": [event("click", str(products[0].pk))], "sent_at": sent_at}
    response = post_events(client, batch)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "sent_at"
    drain()
    assert not Event.objects.exists()


def test_correction_past_the_calendar_is_400(client: Client, products: list[Product]) -> None:
    batch = {
        "events": [event("click", str(products[0].pk), ts="9999-12-31T00:00:00Z")],
        "sent_at": 1,
    }
    response = post_events(client, batch)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "ts"


def test_a_repeated_event_id_is_stored_once_and_reported(
    client: Client, products: list[Product], drain: Callable[[], Any]
) -> None:
    once = event("click", str(products[0].pk))
    other = event("view", str(products[1].pk))
    response = post_events(client, [once, other, once, {**once, "kind": "view"}])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2, "duplicates": 2}
    drain()
    assert Event.objects.count() == 2
    assert Event.objects.get(event_id=once["event_id"]).kind == EventKind.CLICK  # the first
