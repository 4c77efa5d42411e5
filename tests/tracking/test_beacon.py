"""The beacon endpoint: accepted batches are stored exactly once; bad ones store nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from recommendations.models import Event, EventKind

from .conftest import EVENTS_URL, event, post_events

pytestmark = pytest.mark.django_db(transaction=True)


def test_valid_batch_is_stored_with_server_side_identity(client, products, drain):
    events = [event("click", str(products[0].pk), context={"slot": "for-you", "position": 2})]
    events.append(event("impression", str(products[1].pk), ts="2026-01-01T00:00:00Z"))
    response = post_events(client, events[:1])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 1}
    drain()
    stored = Event.objects.get()
    assert str(stored.event_id) == events[0]["event_id"]
    assert stored.kind == EventKind.CLICK
    assert stored.item_id == str(products[0].pk)
    assert stored.context == {"slot": "for-you", "position": 2}
    assert stored.user_id is None
    assert len(stored.visitor_id) == 32
    assert response.cookies["recommendations_visitor"].value.startswith(stored.visitor_id)


def test_duplicate_event_ids_are_stored_once(client, products, drain):
    batch = [event("click", str(products[0].pk)), event("view", str(products[1].pk))]
    assert post_events(client, batch).status_code == 202
    assert post_events(client, [*batch, batch[0]]).status_code == 202
    drain()
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        ({"kind": "purchase"}, "kind"),
        ({"kind": "teleport"}, "kind"),
        ({"item_id": 42}, "item_id"),
        ({"value": "3"}, "value"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": "2026-01-01T00:00:00"}, "ts"),
        ({"ts": "2999-01-01T00:00:00Z"}, "ts"),
        ({"item_id": "bad\u0000id"}, "item_id"),
        ({"context": {"slot": "x" * 600}}, "context"),
        ({"context": {"nested": {"a": 1}}}, "context"),
        ({"user": 1}, "user"),
        ({"visitor": "someone-else"}, "visitor"),
    ],
)
def test_bad_event_names_the_field_and_stores_nothing(client, products, drain, mutation, field):
    good = event("click", str(products[0].pk))
    bad = {**event("click", str(products[1].pk)), **mutation}
    response = post_events(client, [good, bad])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"index": 1, "field": field} in [
        {"index": e.get("index"), "field": e["field"]} for e in errors
    ]
    drain()
    assert Event.objects.count() == 0


def test_lone_surrogate_is_rejected_with_its_field(client, products, drain):
    body = (
        '{"events": [{"event_id": "5f0b2a3e-1d7c-4a47-9a55-0d4f5d5c2a11", "kind": "click", '
        f'"item_id": "{products[0].pk}", "context": {{"slot": "\\ud800"}}}}]}}'
    )
    response = client.post(EVENTS_URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "context"
    drain()
    assert not Event.objects.exists()


def test_unknown_item_is_rejected(client, products, drain):
    response = post_events(client, [event("click", "no-such-item")])
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 0, "field": "item_id", "message": "unknown item 'no-such-item'"}
    ]
    drain()
    assert not Event.objects.exists()


def test_rating_needs_a_value_from_one_to_five(client, products):
    response = post_events(client, [event("rating", str(products[0].pk), value=9)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "value"


def test_batch_size_limit_from_both_sides(client, products, settings, drain):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_EVENTS": 3}
    item = str(products[0].pk)
    assert post_events(client, [event("click", item) for _ in range(3)]).status_code == 202
    response = post_events(client, [event("click", item) for _ in range(4)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events"
    drain()
    assert Event.objects.count() == 3


def test_body_size_limit_from_both_sides(client, products, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_BYTES": 400}
    small = post_events(client, [event("click", str(products[0].pk), context={"a": "x" * 100})])
    assert small.status_code == 202
    big = post_events(client, [event("click", str(products[0].pk), context={"a": "x" * 400})])
    assert big.status_code == 413


def test_not_json(client, products):
    assert client.post(EVENTS_URL, "{", content_type="application/json").status_code == 400
    assert (
        client.post(EVENTS_URL, "a=1", content_type="application/x-www-form-urlencoded").status_code
        == 415
    )
    assert post_events(client, {"events": []}).status_code == 400
    assert post_events(client, {"events": [], "user": 3}).status_code == 400


def test_text_plain_beacon_is_accepted(client, products, drain):
    body = json.dumps({"events": [event("click", str(products[0].pk))]})
    assert client.post(EVENTS_URL, body, content_type="text/plain").status_code == 202
    drain()
    assert Event.objects.count() == 1


def test_logged_in_user_cannot_write_events_for_another_user(products, drain):
    users = get_user_model()
    alice = users.objects.create_user("alice", password="pw-alice-123")
    bob = users.objects.create_user("bob", password="pw-bob-123")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    forged = event("click", str(products[0].pk), user=bob.pk)
    assert post_events(client, [forged], HTTP_X_CSRFTOKEN=token).status_code == 400
    honest = event("click", str(products[0].pk))
    assert post_events(client, [honest], HTTP_X_CSRFTOKEN=token).status_code == 202
    assert post_events(client, [event("click", str(products[0].pk))]).status_code == 403
    drain()
    assert list(Event.objects.values_list("user_id", flat=True)) == [alice.pk]


def test_global_privacy_control_stores_nothing(client, products, drain):
    response = post_events(client, [event("click", str(products[0].pk))], HTTP_SEC_GPC="1")
    assert response.status_code == 202
    assert response.json()["accepted"] == 0
    assert "recommendations_visitor" not in response.cookies
    drain()
    assert not Event.objects.exists()


@pytest.mark.services
def test_a_deleted_product_is_unknown_to_the_beacon_at_once(client, products):
    assert post_events(client, [event("click", str(products[4].pk))]).status_code == 202
    deleted_pk = products[4].pk
    products[4].delete()
    response = post_events(client, [event("click", str(deleted_pk))])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "item_id"
