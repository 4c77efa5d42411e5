"""Admin: experiments with variants, the results page, stop and ship."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.urls import reverse

from recommendations.models import Experiment, ModelVersion, VariantKind
from recommendations.serving.pipeline import Audience, recommend

from .conftest import visitor_in


def test_staff_see_the_list_the_form_and_the_results(admin_client, products, make_experiment):
    experiment = make_experiment(name="Holdout on for-you")
    recommend("for-you", Audience(visitor_id=visitor_in(experiment, "control")))
    changelist = admin_client.get(reverse("admin:recommendations_experiment_changelist"))
    assert changelist.status_code == 200 and b"Holdout on for-you" in changelist.content
    assert admin_client.get(reverse("admin:recommendations_experiment_add")).status_code == 200
    change = admin_client.get(
        reverse("admin:recommendations_experiment_change", args=[experiment.pk])
    )
    assert change.status_code == 200
    results = admin_client.get(
        reverse("admin:recommendations_experiment_results", args=[experiment.pk])
    )
    assert results.status_code == 200
    assert b"Below the planned sample" in results.content
    assert b"Stop and ship Variant B" in results.content


def test_an_experiment_is_created_with_its_variants(admin_client, db):
    version = ModelVersion.objects.create(scenario="for_you", model="als", version="als-7")
    data = {
        "key": "new-model",
        "name": "New model",
        "slots": ["for-you"],
        "baseline_conversion": "0.05",
        "minimum_detectable_effect": "0.1",
        "alpha": "0.05",
        "power": "0.8",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-0-key": "control",
        "variants-0-name": "Control",
        "variants-0-kind": VariantKind.CONTROL,
        "variants-0-weight": "50",
        "variants-1-key": "als7",
        "variants-1-name": "ALS 7",
        "variants-1-kind": VariantKind.MODEL_VERSION,
        "variants-1-weight": "50",
        "variants-1-model_version": str(version.pk),
    }
    response = admin_client.post(reverse("admin:recommendations_experiment_add"), data)
    assert response.status_code == 302, response.context["errors"]
    assert Experiment.objects.get(key="new-model").variants.count() == 2
    # A model-version variant is only offered for the for-you slot.
    refused = admin_client.post(
        reverse("admin:recommendations_experiment_add"),
        {**data, "key": "two-slots", "slots": ["for-you", "similar"]},
    )
    assert refused.status_code == 200 and b"only offered for the for-you slot" in refused.content


def test_non_staff_are_refused(client, django_user_model, make_experiment, db):
    experiment = make_experiment()
    client.force_login(django_user_model.objects.create_user("shopper"))
    for name in ("changelist", "results"):
        args = [] if name == "changelist" else [experiment.pk]
        response = client.get(reverse(f"admin:recommendations_experiment_{name}", args=args))
        assert response.status_code == 302 and "/login/" in response["Location"]
    ship = client.post(
        reverse("admin:recommendations_experiment_ship", args=[experiment.pk]),
        {"variant_key": "b"},
    )
    assert ship.status_code == 302 and Experiment.objects.get().decided_at is None


def test_shipping_a_model_version_stops_the_experiment_and_activates_it(
    admin_client, make_experiment, settings, tmp_path
):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ARTIFACT_DIR": str(tmp_path)}
    active = ModelVersion.objects.create(
        scenario="for_you", model="ease", version="ease-1", status=ModelVersion.Status.ACTIVE
    )
    candidate = ModelVersion.objects.create(scenario="for_you", model="als", version="als-2")
    candidate.artifact.save("for_you/als-2.npz", ContentFile(b"artifact"))
    experiment = make_experiment(
        ("control", "Control", VariantKind.CONTROL, 50.0),
        ("b", "ALS 2", VariantKind.MODEL_VERSION, 50.0),
    )
    experiment.variants.filter(key="b").update(model_version=candidate)
    response = admin_client.post(
        reverse("admin:recommendations_experiment_ship", args=[experiment.pk]),
        {"variant_key": "b"},
        follow=True,
    )
    assert b"Activated for-you model version als-2" in response.content
    experiment.refresh_from_db()
    candidate.refresh_from_db()
    active.refresh_from_db()
    assert experiment.stops_at is not None and not experiment.is_running()
    assert experiment.shipped_variant.key == "b" and "ALS 2" in experiment.decision
    assert candidate.status == ModelVersion.Status.ACTIVE
    assert active.status == ModelVersion.Status.RETIRED


def test_shipping_a_holdout_only_records_the_decision(admin_client, make_experiment):
    experiment = make_experiment()
    response = admin_client.post(
        reverse("admin:recommendations_experiment_ship", args=[experiment.pk]),
        {"variant_key": "b"},
        follow=True,
    )
    assert b"Recorded only: recommendations were not switched off" in response.content
    experiment.refresh_from_db()
    assert experiment.decided_at is not None and not experiment.is_running()
    again = admin_client.post(
        reverse("admin:recommendations_experiment_ship", args=[experiment.pk]),
        {"variant_key": "control"},
        follow=True,
    )
    assert b"was decided already" in again.content
