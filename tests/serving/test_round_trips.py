"""A warm recommendation request asks Redis once: everything it reads (the catalogue version, the
visitor's recent items, the lists, their neighbours, an experiment's exposure marker) comes back
from one script. Counted by a private redis-server's ``INFO commandstats``, so nothing else on
the shared server adds to the count."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from redis.connection import AbstractConnection

from recommendations import redis_client
from recommendations.api.throttling import OptionalScopedRateThrottle
from recommendations.experiments.tokens import suffix
from recommendations.models import Event, EventKind, Experiment, ExperimentVariant, VariantKind
from recommendations.stores import get_store
from recommendations.tracking import live
from recommendations.tracking.records import EventRecord
from tests.processes import app_on_private_redis

from .conftest import ids
from .test_degradation import URL, visitor_client

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

VISITOR = "a" * 32


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch):
    """Without a throttle rate (as the serving benchmark runs): a rate adds its counter's trip."""
    monkeypatch.setattr(OptionalScopedRateThrottle, "THROTTLE_RATES", {})


@pytest.fixture
def private_redis(settings):
    with app_on_private_redis(settings) as (port, _):
        yield redis.Redis(port=port)


class RoundTrips:
    """The commands each round trip to Redis sent, as redis-py's connections send them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[list[str]] = []
        send = AbstractConnection.send_packed_command
        trips = self

        def counted(connection, command, check_health=True):
            packed = command if isinstance(command, bytes | str) else b"".join(command)
            trips.sent.append(commands_in(packed))
            return send(connection, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)


def commands_in(packed: bytes | str) -> list[str]:
    """Command names in RESP-packed bytes (``*<n>\\r\\n$<len>\\r\\nNAME...``)."""
    data = packed.encode() if isinstance(packed, str) else packed
    names, lines = [], data.split(b"\r\n")
    for i, line in enumerate(lines[:-2]):
        if line.startswith(b"*") and lines[i + 1].startswith(b"$"):
            names.append(lines[i + 2].decode().lower())
    return names


def one_request(
    server: redis.Redis, client, path: str, monkeypatch
) -> tuple[dict, RoundTrips, int]:
    """The response, the round trips it made, and how many scripts the server ran for it."""
    server.config_resetstat()
    with pytest.MonkeyPatch.context() as patch:
        trips = RoundTrips(patch)
        response = client.get(path)
    assert response.status_code == 200, response.content
    scripts = int(server.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))
    return response.json(), trips, scripts


@pytest.fixture
def viewed(catalogue, private_redis):
    """A visitor who viewed two kitchen things, similar to garden things and toys."""
    kitchen, garden, toys = (ids(catalogue[name]) for name in ("Kitchen", "Garden", "Toys"))
    get_store().put_many(
        {
            f"item:{kitchen[0]}:similar": [
                (garden[0], 1.0),
                (toys[0], 0.9),
                (garden[1], 0.8),
                (toys[1], 0.7),
            ],
            f"item:{kitchen[1]}:similar": [(garden[2], 1.0), (toys[2], 0.9)],
        },
        model_version="itemknn-1",
    )
    now = timezone.now()
    live.update(
        redis_client.get_redis(timeout=5),
        [
            EventRecord(
                kind=int(EventKind.VIEW),
                item_id=item,
                visitor_id=VISITOR,
                ts=now - timedelta(seconds=age),
            )
            for age, item in ((60, kitchen[1]), (30, kitchen[0]))
        ],
    )
    return kitchen, garden, toys


def test_a_warm_for_you_request_is_one_round_trip(viewed, private_redis, monkeypatch):
    kitchen, garden, toys = viewed
    client = visitor_client(VISITOR)
    client.get(URL.format("for-you") + "?limit=4")  # loads the script, fills the catalogue copy

    body, trips, scripts = one_request(
        private_redis, client, URL.format("for-you") + "?limit=4", monkeypatch
    )

    assert trips.sent == [["evalsha"]]
    assert scripts == 1
    assert [item["item_id"] for item in body["items"]] == [garden[0], toys[0], garden[1], toys[1]]
    assert body["items"][0]["reason"]["kind"] == "because-viewed"
    assert body["items"][0]["reason"]["about"] == kitchen[0]


def test_a_warm_similar_slot_is_one_round_trip(viewed, private_redis, monkeypatch):
    kitchen, garden, toys = viewed
    client = visitor_client(VISITOR)
    path = URL.format("similar") + f"?item={kitchen[0]}&limit=4"
    client.get(path)

    body, trips, scripts = one_request(private_redis, client, path, monkeypatch)

    assert trips.sent == [["evalsha"]]
    assert scripts == 1
    assert [item["item_id"] for item in body["items"]] == [garden[0], toys[0], garden[1], toys[1]]


def test_an_experiment_exposure_is_checked_in_the_same_round_trip(
    viewed, private_redis, drain, monkeypatch
):
    experiment = Experiment.objects.create(
        key="round-trips", name="Round trips", slots=["for-you"], starts_at=timezone.now()
    )
    ExperimentVariant.objects.create(
        experiment=experiment, key="control", kind=VariantKind.CONTROL, weight=1.0
    )
    client = visitor_client(VISITOR)
    path = URL.format("for-you") + "?limit=4"
    client.get(path)  # the first exposure, recorded with its event

    body, trips, scripts = one_request(private_redis, client, path, monkeypatch)

    assert trips.sent == [["evalsha"]]
    assert scripts == 1
    assert len(body["items"]) == 4
    assert body["token"].endswith(suffix(experiment.pk, "control"))
    drain()
    exposures = Event.objects.filter(kind=EventKind.EXPOSURE, visitor_id=VISITOR)
    assert [e.context["variant"] for e in exposures] == ["control"]


def test_the_throttle_counts_in_the_same_round_trip(viewed, private_redis, monkeypatch):
    monkeypatch.setattr(OptionalScopedRateThrottle, "THROTTLE_RATES", {"recommendations": "3/day"})
    client = visitor_client(VISITOR)
    path = URL.format("for-you") + "?limit=4"
    assert client.get(path).status_code == 200

    body, trips, _ = one_request(private_redis, client, path, monkeypatch)
    assert trips.sent == [["evalsha"]]
    assert len(body["items"]) == 4

    assert client.get(path).status_code == 200
    throttled = client.get(path)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) >= 1


def test_a_request_the_view_rejects_is_still_counted_first(viewed, private_redis, monkeypatch):
    monkeypatch.setattr(OptionalScopedRateThrottle, "THROTTLE_RATES", {"recommendations": "1/day"})
    client = visitor_client(VISITOR)
    assert client.get(URL.format("for-you") + "?limit=4").status_code == 200
    # Over the limit: throttled before its parameters are looked at, as DRF's throttles do.
    assert client.get(URL.format("for-you") + "?limit=many").status_code == 429
    assert client.get(URL.format("no-such-slot")).status_code == 429
    assert client.get(URL.format("for-you") + "?exclude=1,,2").status_code == 429
