"""The recommendations endpoint: validation, privacy, staff preview, schema."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Permission

from recommendations.models import Event, EventKind
from recommendations.stores import get_store

from .conftest import ids

pytestmark = pytest.mark.django_db

URL = "/recommendations/api/recommendations/{}/"


def test_similar_items_with_reasons_and_token(client, catalogue):
    kitchen = ids(catalogue["Kitchen"])
    get_store().put_many({f"item:{kitchen[0]}:similar": [(kitchen[1], 0.9)]})
    response = client.get(URL.format("similar"), {"item": kitchen[0], "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["slot"] == "similar"
    assert body["token"].startswith("similar.")
    assert len(body["items"]) == 5
    first = body["items"][0]
    assert first["item_id"] == kitchen[1]
    assert first["url"] == f"/products/{kitchen[1]}/"
    assert first["reason"] == {
        "kind": "similar",
        "about": kitchen[0],
        "text": f"Similar to {catalogue['Kitchen'][0].title}",
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"item": "x" * 80}, "item"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(client, catalogue, params, field):
    response = client.get(URL.format("trending"), params)
    assert response.status_code == 400
    assert field in response.json()


def test_unknown_item_is_400_and_unknown_slot_404(client, catalogue):
    response = client.get(URL.format("similar"), {"item": "424242"})
    assert response.status_code == 400
    assert "item" in response.json()
    assert client.get(URL.format("nonsense")).status_code == 404


def test_a_user_cannot_read_another_users_recommendations(client, catalogue, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    secret = ids(catalogue["Garden"])[0]
    Event.objects.create(visitor_id="b", user=bob, item_id=secret, kind=EventKind.PURCHASE)
    client.force_login(alice)
    response = client.get(URL.format("buy-again"), {"as_user": bob.pk})
    assert response.status_code == 400
    assert "as_user" in response.json()
    assert client.get(URL.format("buy-again")).json()["items"] == []


def test_preview_with_its_permission_is_allowed_and_logged(
    client, catalogue, django_user_model, caplog
):
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="preview_as_user"))
    bob = django_user_model.objects.create_user("bob")
    bought = ids(catalogue["Garden"])[0]
    Event.objects.create(visitor_id="b", user=bob, item_id=bought, kind=EventKind.PURCHASE)
    client.force_login(staff)
    with caplog.at_level(logging.INFO, logger="recommendations.preview"):
        response = client.get(URL.format("buy-again"), {"as_user": bob.pk})
    assert response.status_code == 200
    assert [i["item_id"] for i in response.json()["items"]] == [bought]
    assert f"previewed buy-again recommendations of user {bob.pk}" in caplog.text


def test_openapi_schema_and_offline_docs(client, catalogue):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/recommendations/api/recommendations/{slot}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
