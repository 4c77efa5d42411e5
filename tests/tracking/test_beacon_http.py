"""The beacon behind a real HTTP server (Django's live server): chunked bodies, and keep-alive
connections that must stay usable after a refused body."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from recommendations.models import Event
from shop.models import Product

from .conftest import EVENTS_URL, event

pytestmark = pytest.mark.django_db(transaction=True)

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def connection(live_server: Any) -> Iterator[http.client.HTTPConnection]:
    url = urlsplit(live_server.url)
    conn = http.client.HTTPConnection(url.hostname or "localhost", url.port, timeout=30)
    yield conn
    conn.close()


def answer(conn: http.client.HTTPConnection) -> tuple[int, Any]:
    response = conn.getresponse()
    body = response.read()
    return response.status, json.loads(body) if body else None


def batch(products: list[Product], **context: Any) -> bytes:
    return json.dumps({"events": [event("click", str(products[0].pk), context=context)]}).encode()


def test_chunked_body_is_400_naming_the_body_and_the_connection_stays_usable(
    connection: http.client.HTTPConnection, products: list[Product], drain: Callable[[], Any]
) -> None:
    """runserver does not decode chunks: the app gets no body, and says so instead of a 500."""
    payload = batch(products)
    # Headers and every chunk in one write: the server answers without reading the chunks and
    # closes the connection, and a client still writing then would fail on a broken pipe.
    connection.putrequest("POST", EVENTS_URL)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders(b"%x\r\n%s\r\n0\r\n\r\n" % (len(payload), payload))
    status, body = answer(connection)
    assert status == 400, body
    assert body["errors"][0]["field"] == "body"
    assert "chunked" in body["errors"][0]["message"]
    connection.request("POST", EVENTS_URL, batch(products), JSON)
    assert answer(connection)[0] == 202
    drain()
    assert Event.objects.count() == 1


def test_keep_alive_connection_works_after_a_413(
    connection: http.client.HTTPConnection,
    products: list[Product],
    settings: Any,
    drain: Callable[[], Any],
) -> None:
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_BYTES": 400}
    for size in (500, 300_000):
        connection.request("POST", EVENTS_URL, batch(products, a="x" * size), JSON)
        status, body = answer(connection)
        assert status == 413, body
        connection.request("POST", EVENTS_URL, batch(products), JSON)
        assert answer(connection)[0] == 202
    drain()
    assert Event.objects.count() == 2


def test_empty_body_over_http_is_400(
    connection: http.client.HTTPConnection, products: list[Product]
) -> None:
    connection.request("POST", EVENTS_URL, b"", JSON)
    status, body = answer(connection)
    assert status == 400
    assert body["errors"][0]["field"] == "body"
    connection.request("POST", EVENTS_URL, batch(products), JSON)
    assert answer(connection)[0] == 202
