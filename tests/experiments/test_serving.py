"""Experiments through the real pipeline and API: variants applied, exposures recorded once."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from recommendations import caches
from recommendations.experiments.tokens import parse_suffix
from recommendations.merchandising.attribution import parse_token
from recommendations.models import Event, EventKind, ModelVersion, Rule, VariantKind
from recommendations.serving.pipeline import Audience, recommend
from recommendations.types import Action

from .conftest import COOKIE, visitor_client, visitor_in

URL = "/recommendations/api/recommendations/for-you/"


def exposures(experiment) -> list[Event]:
    return list(Event.objects.filter(kind=EventKind.EXPOSURE, context__experiment=experiment.pk))


def test_the_holdout_gets_no_items_through_the_api_and_the_control_does(
    products, make_experiment, django_capture_on_commit_callbacks, drain
):
    experiment = make_experiment()
    holdout = visitor_in(experiment, "b")
    control = visitor_in(experiment, "control")
    with django_capture_on_commit_callbacks(execute=True):
        held = visitor_client(holdout).get(URL).json()
        served = visitor_client(control).get(URL).json()
    drain()
    assert held["items"] == [] and parse_suffix(held["token"]) == (experiment.pk, "b")
    assert len(served["items"]) > 0 and parse_suffix(served["token"]) == (experiment.pk, "control")
    # Reports that know nothing of experiments still read the slot and sources.
    assert parse_token(served["token"])[0] == "for-you"
    assert {(e.visitor_id, e.context["variant"]) for e in exposures(experiment)} == {
        (holdout, "b"),
        (control, "control"),
    }


def test_a_visitor_without_a_cookie_is_not_in_the_experiment(products, make_experiment):
    make_experiment()
    body = Client().get(URL).json()  # a first request: no visitor cookie yet
    assert parse_suffix(body["token"]) is None and body["items"]


def test_each_visitor_is_exposed_once(
    products, make_experiment, django_capture_on_commit_callbacks, drain
):
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "Variant B", VariantKind.RULES_OFF, 50.0),
    )
    first, second = visitor_in(experiment, "control"), visitor_in(experiment, "b")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            recommend("for-you", Audience(visitor_id=first))
            recommend("for-you", Audience(visitor_id=second))
    drain()
    assert sorted(e.visitor_id for e in exposures(experiment)) == sorted([first, second])


def test_the_variant_is_the_same_before_and_after_login(
    products, make_experiment, django_capture_on_commit_callbacks, drain
):
    experiment = make_experiment()
    visitor = visitor_in(experiment, "b")
    get_user_model().objects.create_user("ann", password="pw-123456")
    client = visitor_client(visitor)
    with django_capture_on_commit_callbacks(execute=True):
        before = client.get(URL).json()
        response = client.post("/account/login/", {"username": "ann", "password": "pw-123456"})
        assert response.status_code == 302
        after = client.get(URL).json()
    drain()
    assert client.cookies[COOKIE].value  # the visitor cookie survived the login
    assert parse_suffix(before["token"]) == parse_suffix(after["token"]) == (experiment.pk, "b")
    assert after["items"] == []
    assert len(exposures(experiment)) == 1


def test_rules_off_ignores_a_pin_that_the_control_gets(products, make_experiment):
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "No rules", VariantKind.RULES_OFF, 50.0),
    )
    control_visitor = visitor_in(experiment, "control")
    rules_off_visitor = visitor_in(experiment, "b")
    pinned = recommend("for-you", Audience(visitor_id=control_visitor)).items[-1].item.item_id
    # bulk_create: the rule as stored, without the history another change adds to saves
    Rule.objects.bulk_create(
        [Rule(name="Pin", action=Action.PIN, item_id=pinned, position=1, slot="for-you")]
    )
    caches.invalidate(caches.Change.RULES)
    control = recommend("for-you", Audience(visitor_id=control_visitor))
    rules_off = recommend("for-you", Audience(visitor_id=rules_off_visitor))
    assert control.items[0].item.item_id == pinned
    assert rules_off.items and rules_off.items[0].item.item_id != pinned


def test_other_slots_and_stopped_experiments_are_served_as_today(products, make_experiment):
    from django.utils import timezone

    experiment = make_experiment(slots=("trending",))
    visitor = visitor_in(experiment, "b")
    assert parse_suffix(recommend("for-you", Audience(visitor_id=visitor)).token) is None
    assert recommend("trending", Audience(visitor_id=visitor)).items == []
    experiment.stops_at = timezone.now()
    experiment.save()
    assert recommend("trending", Audience(visitor_id=visitor)).items


def test_an_unreadable_model_version_still_serves_a_list(
    products, make_experiment, settings, tmp_path
):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ARTIFACT_DIR": str(tmp_path)}
    version = ModelVersion.objects.create(
        scenario="for_you", model="als", version="als-broken", artifact="missing.npz"
    )
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "New model", VariantKind.MODEL_VERSION, 50.0),
    )
    experiment.variants.filter(key="b").update(model_version=version)
    caches.invalidate(caches.Change.EXPERIMENTS)
    visitor = visitor_in(experiment, "b")
    Event.objects.create(visitor_id=visitor, item_id=str(products[0].pk), kind=EventKind.VIEW)
    result = recommend("for-you", Audience(visitor_id=visitor))
    assert result.items and parse_suffix(result.token) == (experiment.pk, "b")
