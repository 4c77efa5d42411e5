"""Serving never fails because Redis, a model artifact or the list store is away."""

from __future__ import annotations

import pytest
from django.test import Client

from recommendations.models import Event, EventKind
from recommendations.serving.models import active_models
from tests.processes import free_port

from .conftest import ids

pytestmark = pytest.mark.django_db

URL = "/recommendations/api/recommendations/{}/"


def visitor_client(visitor: str) -> Client:
    """A test client carrying ``visitor``'s signed cookie, as their browser would."""
    from django.http import HttpResponse

    from recommendations.tracking.identity import _SALT

    cookie = HttpResponse()
    cookie.set_signed_cookie("recommendations_visitor", visitor, salt=_SALT)
    client = Client()
    client.cookies["recommendations_visitor"] = cookie.cookies["recommendations_visitor"].value
    return client


def popular_events(items: list[str]) -> None:
    Event.objects.bulk_create(
        [
            Event(visitor_id="v", item_id=item, kind=EventKind.PURCHASE)
            for item in items
            for _ in range(3)
        ]
    )


def test_with_redis_unreachable_every_slot_still_answers_from_the_database(
    client, catalogue, settings
):
    garden = ids(catalogue["Garden"])
    popular_events(garden[:2])
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "REDIS_TIMEOUT": 0.05,
    }
    client.cookies["recommendations_visitor"] = "not-even-signed"
    for slot, params in [("for-you", {}), ("trending", {}), ("similar", {"item": garden[3]})]:
        response = client.get(URL.format(slot), {"limit": 4, **params})
        assert response.status_code == 200, slot
        items = [i["item_id"] for i in response.json()["items"]]
        assert len(items) == 4, slot
        assert set(garden[:2]) <= set(items) or slot == "similar", slot


def test_a_missing_model_file_falls_back_without_an_error(
    catalogue, settings, tmp_path, drain, caplog
):

    from recommendations.models import ModelVersion
    from recommendations.tracking.records import EventRecord
    from recommendations.tracking.sinks import deliver

    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ARTIFACT_DIR": str(tmp_path)}
    ModelVersion.objects.create(
        scenario="for_you",
        model="ease",
        version="ease-gone",
        status="active",
        artifact="for_you/gone.npz",
    )
    active_models.clear()
    popular_events(ids(catalogue["Toys"])[:1])
    visitor = "9" * 32
    deliver(
        [
            EventRecord(
                kind=int(EventKind.VIEW), item_id=ids(catalogue["Toys"])[2], visitor_id=visitor
            )
        ]
    )
    drain()
    client = visitor_client(visitor)
    response = client.get(URL.format("for-you"), {"limit": 3})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 3
    assert "Active for_you model unavailable" in caplog.text
    active_models.clear()


def test_a_truncated_model_file_falls_back_and_says_it_is_degraded(
    catalogue, settings, tmp_path, drain, caplog
):
    """A half-written or corrupted ``.npz`` (a full disk, a copy cut short) must not turn every
    for-you request into a 500: the slot serves without the model and says so."""

    from recommendations.engine.artifacts import Artifact, save_artifact
    from recommendations.models import ModelVersion
    from recommendations.registry import clear_cache
    from recommendations.tracking.records import EventRecord
    from recommendations.tracking.sinks import deliver

    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ARTIFACT_DIR": str(tmp_path)}
    toys = ids(catalogue["Toys"])
    path = tmp_path / "for_you" / "ease-cut.npz"
    path.parent.mkdir(parents=True)
    save_artifact(
        Artifact("popularity", "scores", {"scores": [1.0] * len(toys)}, item_keys=toys), path
    )
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    ModelVersion.objects.create(
        scenario="for_you", model="ease", version="ease-cut", status="active",
        artifact="for_you/ease-cut.npz",
    )  # fmt: skip
    clear_cache()
    active_models.clear()
    visitor = "8" * 32
    deliver([EventRecord(kind=int(EventKind.VIEW), item_id=toys[2], visitor_id=visitor)])
    drain()
    client = visitor_client(visitor)
    before = _model_fallbacks_today()
    response = client.get(URL.format("for-you"), {"limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body["items"]) == 3 and body["degraded"] is True
    assert "Active for_you model unavailable" in caplog.text
    # Counted once for the request, where admin's health page reads it.
    assert _model_fallbacks_today() == before + 1
    active_models.clear()


def _model_fallbacks_today() -> int:
    from django.utils import timezone

    from recommendations import fallbacks
    from recommendations.types import Fallback

    today = timezone.localdate()
    return fallbacks.daily_counts([today]).get(Fallback.MODEL, {}).get(today, 0)


def test_the_health_page_shows_fallbacks_to_staff_only(admin_client, django_user_model):
    from recommendations import fallbacks
    from recommendations.types import Fallback

    with fallbacks.collecting():
        fallbacks.note(Fallback.LISTS)
        fallbacks.note(Fallback.LISTS)  # one request: counted once
    response = admin_client.get("/admin/recommendations/event/health/")
    assert response.status_code == 200
    charts = {c["caption"]: c for c in response.context["fallback_charts"]}
    assert charts[Fallback.LISTS.label]["total"] >= 1
    assert b"<svg" in response.content and Fallback.LISTS.label.encode() in response.content

    shopper = django_user_model.objects.create_user("shopper", password="pw-123456789")
    client = Client()
    client.force_login(shopper)
    assert client.get("/admin/recommendations/event/health/").status_code == 302
