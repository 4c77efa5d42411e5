"""Erase end to end, against the real database, Redis and artifact files: afterwards nothing
names the person, nothing of theirs comes back, and aggregates are as if they never shopped."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.conf import settings
from django.db.models import Q

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models import (
    CheckoutAttempt,
    ErasureRequest,
    Event,
    EventKind,
    RiskAssessment,
    SegmentMember,
    Suppression,
    TrainingRun,
    VisitorLink,
)
from recommendations.popularity import computed_popularity
from recommendations.precompute import refresh_popularity
from recommendations.precompute.model_lists import write_user_lists
from recommendations.privacy import erase, export
from recommendations.registry import active_version, load_version_artifact
from recommendations.stores import get_store
from recommendations.tracking import live
from recommendations.tracking.ingest import dead_letter_key
from recommendations.tracking.records import EventRecord, dumps
from recommendations.tracking.sinks import STREAM_FIELD, stream_key
from recommendations.training import latest_state, train
from recommendations.training.state import TrainingState

from ..training.helpers import new_traffic, stored
from .conftest import (
    PERSON,
    artifact_files,
    artifact_references,
    cookie_client,
    database_references,
    others_browse,
    post_events,
    product_url,
    redis_references,
)

pytestmark = pytest.mark.django_db(transaction=True)  # tracking delivers on commit


def _train(django_capture_on_commit_callbacks, kind: str = "full") -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = train(kind)
    assert result.status in {"finished", "skipped"}, result.message


def _persons_events(person) -> Q:
    return Q(user_id=person.user_id) | Q(visitor_id__in=person.visitors)


def _trending_of(events) -> dict[str, float]:
    """The trending counters ``live.update`` keeps for ``events``."""
    weights = {
        int(EventKind.from_name(name)): w for name, w in app_settings.TRENDING_WEIGHTS.items()
    }
    epoch = float(redis_client.get_redis().get(app_settings.key("trending", "epoch")))
    half_life = float(app_settings.TRENDING_HALF_LIFE)
    scores: dict[str, float] = {}
    for item_id, kind, ts in events.values_list("item_id", "kind", "ts"):
        if weights.get(kind):
            boost = weights[kind] * 2.0 ** ((ts.timestamp() - epoch) / half_life)
            scores[item_id] = scores.get(item_id, 0.0) + boost
    return scores


def _in_flight(person, other: str) -> None:
    """A stream message mixing the person's event with another's, and a dead letter of theirs."""
    client = redis_client.get_redis()
    mine = EventRecord(kind=1, item_id="7", visitor_id=person.visitor, user_id=PERSON)
    theirs = EventRecord(kind=1, item_id="8", visitor_id=other)
    client.xadd(stream_key(), {STREAM_FIELD: dumps([mine, theirs])})
    dead = EventRecord(kind=1, item_id="9", visitor_id=person.visitor)
    client.xadd(dead_letter_key(), {STREAM_FIELD: dumps([dead]), b"reason": b"test", b"id": b"1-0"})


def test_after_an_erase_no_store_names_the_person(
    person, drain, django_capture_on_commit_callbacks
):
    services = settings.SERVICES_MODE
    other = others_browse(person.products, drain)
    if services:
        redis = redis_client.get_redis()
        post_events(cookie_client(person.visitor), ("add_to_cart", str(person.products[4].pk)))
        drain()
        assert redis.zscore(live.trending_key(), str(person.products[4].pk))
    _train(django_capture_on_commit_callbacks)
    refresh_popularity()
    popular_before = stored("popular").items
    assert stored(f"user:{PERSON}") is not None
    if services:
        _in_flight(person, other)

    document = export(user_id=PERSON)
    assert set(person.visitors) <= set(document["subject"]["visitor_ids"])
    assert len(document["events"]) == person.events().count() > 0
    assert {link["visitor_id"] for link in document["visitor_links"]} == set(person.linked)
    assert person.visitor in person.linked
    assert {flag["visitor_id"] for flag in document["quarantine"]} == {person.flagged}
    assert f"user:{PERSON}" in document["precomputed_lists"]
    assert [a["email"] for a in document["checkout_attempts"]] == ["erin@example.com"]
    assert [a["key"] for a in document["risk_assessments"]] == [f"v:{person.visitor}"]
    assert [m["segment"] for m in document["segments"]] == ["Lapsed buyers"]
    assert any(str(PERSON) in state["users"] for state in document["training_states"])
    if services:
        assert document["recent_items"][f"user:{PERSON}"]
        assert document["recent_items"][f"visitor:{person.visitor}"]
        assert {e["item_id"] for e in document["in_flight_events"]} == {"7", "9"}

    record = erase(user_id=PERSON)

    assert record.status == ErasureRequest.Status.COMPLETED, record.message
    assert record.verified_at is not None and record.completed_at is not None
    pattern = person.patterns()
    assert database_references(pattern) == []
    assert redis_references(pattern) == []
    assert artifact_references(person) == []
    assert not Event.objects.filter(_persons_events(person)).exists()
    assert not VisitorLink.objects.filter(user_id=PERSON).exists()
    assert not CheckoutAttempt.objects.filter(email="erin@example.com").exists()
    assert not RiskAssessment.objects.exists() and not SegmentMember.objects.exists()
    assert Suppression.objects.count() >= 3  # the user and each visitor, as hashes only
    # Every rewritten file still loads, and the other users are still in them.
    assert list(artifact_files())
    for version in [active_version(s) for s in ("for_you", "similar_item")]:
        assert version is not None and load_version_artifact(version).item_keys is not None
    state = latest_state()[1]
    assert str(PERSON + 1) in state.user_keys.tolist()
    assert str(PERSON) not in state.user_keys.tolist()

    # Aggregates equal those computed from what is left.
    length = app_settings.PRECOMPUTE_LENGTH
    for name, decay in (("popular", False), ("trending", True)):
        expected = computed_popularity(decay=decay, use_cache=False)[:length]
        items = stored(name).items
        assert [i for i, _ in items] == [i for i, _ in expected]
        assert [s for _, s in items] == pytest.approx([s for _, s in expected])
    # The person's user was flagged for a burst, so their events never made anything popular
    # (bursts, like confirmed fraud, are left out of popularity as of training): nothing moves.
    assert stored("popular").items == popular_before
    if services:
        # The live counters hold the other visitor's events only, as update() added them.
        left = {
            item.decode(): score
            for item, score in redis.zrange(live.trending_key(), 0, -1, withscores=True)
        }
        assert left == pytest.approx(_trending_of(Event.objects.filter(visitor_id=other)))
        # The other visitor's half of the mixed message is still delivered.
        drain()
        assert Event.objects.filter(visitor_id=other, item_id="8").exists()
        assert not Event.objects.filter(_persons_events(person)).exists()


@pytest.mark.services
def test_a_replayed_stream_message_stores_nothing_of_them(person, drain):
    assert erase(user_id=PERSON).status == ErasureRequest.Status.COMPLETED
    other = uuid.uuid4().hex
    records = [
        EventRecord(kind=1, item_id="replayed", visitor_id=person.visitor, user_id=None),
        EventRecord(kind=4, item_id="replayed", visitor_id=f"user-{PERSON}", user_id=PERSON),
        EventRecord(kind=1, item_id="replayed", visitor_id=uuid.uuid4().hex, user_id=PERSON),
        EventRecord(kind=1, item_id="replayed", visitor_id=other),
    ]
    redis_client.get_redis().xadd(stream_key(), {STREAM_FIELD: dumps(records)})
    stats = drain()
    assert stats.stored == 1
    assert list(Event.objects.filter(item_id="replayed").values_list("visitor_id", flat=True)) == [
        other
    ]
    assert redis_references(person.patterns()) == []


def test_tracking_refuses_them_afterwards(person, drain):
    assert erase(user_id=PERSON).status == ErasureRequest.Status.COMPLETED
    before = Event.objects.count()
    old_cookie = cookie_client(person.visitor)
    response = post_events(old_cookie, ("click", str(person.products[0].pk)))
    assert response.status_code == 202 and response.json()["tracking"] == "declined"
    assert old_cookie.get(product_url(person.products[0])).status_code == 200
    # Signed in again from a new browser: not tracked, and the new cookie is not linked.
    new_browser = cookie_client(uuid.uuid4().hex)
    new_browser.force_login(person.user)
    new_browser.get(product_url(person.products[1]))
    post_events(new_browser, ("click", str(person.products[1].pk)))
    drain()
    assert Event.objects.count() == before
    assert not VisitorLink.objects.filter(user_id=PERSON).exists()
    assert not CheckoutAttempt.objects.filter(email="erin@example.com").exists()
    assert not RiskAssessment.objects.exists() and not SegmentMember.objects.exists()
    assert redis_references(person.patterns()) == []
    # Somebody else is still tracked.
    others_browse(person.products, drain)
    assert Event.objects.count() > before


def test_training_after_an_erase_does_not_bring_their_list_back(
    person, drain, django_capture_on_commit_callbacks
):
    _train(django_capture_on_commit_callbacks)
    assert stored(f"user:{PERSON}") is not None
    stale_run, _ = latest_state()
    with stale_run.state.open("rb") as handle:
        stale_bytes = handle.read()

    assert erase(user_id=PERSON).status == ErasureRequest.Status.COMPLETED
    assert stored(f"user:{PERSON}") is None

    new_traffic(seed=3, first_user=PERSON + 1)  # others only: erased people send nothing
    _train(django_capture_on_commit_callbacks, "incremental")
    assert TrainingRun.objects.filter(kind="incremental", status="finished").exists()
    assert stored(f"user:{PERSON}") is None
    assert str(PERSON) not in latest_state()[1].user_keys.tolist()
    _train(django_capture_on_commit_callbacks, "full")
    assert stored(f"user:{PERSON}") is None
    assert stored(f"user:{PERSON + 1}") is not None
    assert artifact_references(person) == []

    # A state saved by a run that overlapped the erase still holds them: precompute skips them.
    version = active_version("for_you")
    stale = TrainingState.load(io.BytesIO(stale_bytes))
    write_user_lists(get_store(), version.version, load_version_artifact(version), stale, 10, True)
    assert stored(f"user:{PERSON}") is None
    assert stored(f"user:{PERSON + 2}") is not None


def test_a_bare_visitor_is_erased_without_touching_the_user(person, drain):
    anonymous_only = cookie_client(uuid.uuid4().hex)
    post_events(anonymous_only, ("click", str(person.products[5].pk)))
    drain()
    clicked = Event.objects.filter(kind=EventKind.CLICK, item_id=str(person.products[5].pk))
    visitor = clicked.get().visitor_id

    document = export(visitor_id=visitor)
    assert [e["visitor_id"] for e in document["events"]] == [visitor]
    assert erase(visitor_id=visitor).status == ErasureRequest.Status.COMPLETED
    assert not Event.objects.filter(visitor_id=visitor).exists()
    assert Event.objects.filter(user_id=PERSON).exists()
    assert database_references(re.compile(visitor)) == []
    assert redis_references(re.compile(visitor)) == []
