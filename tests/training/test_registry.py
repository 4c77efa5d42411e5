"""The gate, rollback and the promotion signal."""

from __future__ import annotations

import pytest

from recommendations.models import ModelVersion
from recommendations.registry import (
    Comparison,
    RegistryError,
    active_version,
    decide,
    prune_versions,
    rollback,
)
from recommendations.signals import model_promoted
from recommendations.training import train

from .helpers import FIRST_USER, make_events, stored

pytestmark = pytest.mark.django_db


def numbers(candidate, popularity=None, reference=None, name="ease-1") -> Comparison:
    return Comparison(candidate, popularity, reference, name if reference is not None else "")


def test_the_gate_promotes_a_first_version_that_beats_popularity():
    decision = decide(numbers(0.2, 0.1), 0.02)
    assert decision.promote
    assert "no earlier version to compare with" in decision.reason


def test_the_gate_rejects_a_candidate_below_popularity_on_the_same_split():
    decision = decide(numbers(0.09, 0.1), 0.02)
    assert not decision.promote
    assert decision.reason == (
        "NDCG@10 0.0900 is below popularity's 0.1000 on the same validation split"
    )


def test_the_gate_tolerates_a_small_drop_against_the_reference_on_the_same_split():
    assert decide(numbers(0.197, 0.1, 0.2), 0.02).promote
    decision = decide(numbers(0.195, 0.1, 0.2), 0.02)
    assert not decision.promote
    assert (
        "0.1950 is worse than ease-1's 0.2000 on the same validation split "
        "(tolerance 2%: needs at least 0.1960)"
    ) in decision.reason


def test_popularity_itself_passes_the_popularity_check():
    assert decide(numbers(0.1, 0.1), 0.0).promote


def test_scenarios_without_validation_take_the_newest_version():
    decision = decide(numbers(None, None, 0.2), 0.02)
    assert decision.promote and "no validation metric" in decision.reason


@pytest.fixture
def two_trainings(settings, django_capture_on_commit_callbacks):
    """Two full runs on different data: two for-you versions, the second one active."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 1.0}
    make_events(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = train("full")
    make_events(seed=2, first_user=FIRST_USER + 200)
    with django_capture_on_commit_callbacks(execute=True):
        second = train("full")
    pick = lambda result: next(o for o in result.scenarios if o.scenario == "for_you")  # noqa: E731
    old, new = pick(first), pick(second)
    assert new.promoted, new.reason
    return old, new


def test_rollback_restores_the_previous_version_and_recomputes_lists(
    two_trainings, django_capture_on_commit_callbacks
):
    old, new = two_trainings
    assert stored(f"user:{FIRST_USER}").model_version == new.version
    received = []

    def listen(sender, version, **kwargs):
        received.append(version.pk)

    model_promoted.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            restored = rollback("for_you")
    finally:
        model_promoted.disconnect(listen)
    assert restored.pk == old.version_id
    assert active_version("for_you").pk == old.version_id
    retired = ModelVersion.objects.get(pk=new.version_id)
    assert retired.status == ModelVersion.Status.RETIRED
    assert restored.reason == f"rolled back from {new.version}"
    assert received == [old.version_id]
    assert stored(f"user:{FIRST_USER}").model_version == old.version


def test_rollback_to_a_chosen_version(two_trainings, django_capture_on_commit_callbacks):
    old, new = two_trainings
    with django_capture_on_commit_callbacks(execute=True):
        rollback("for_you", to=old.version_id)
    assert active_version("for_you").pk == old.version_id
    with django_capture_on_commit_callbacks(execute=True):
        rollback("for_you", to=new.version_id)
    assert active_version("for_you").pk == new.version_id


def test_rollback_refuses_what_it_cannot_do(two_trainings):
    _old, new = two_trainings
    similar = active_version("similar_item")
    cases = [
        ("mystery", None, "unknown scenario 'mystery'"),
        ("for_you", 999_999, "no model version with id 999999"),
        ("for_you", similar.pk, "is a similar_item version, not for_you"),
        ("for_you", new.version_id, "is already active"),
    ]
    for scenario, to, message in cases:
        with pytest.raises(RegistryError, match=message):
            rollback(scenario, to=to)
    assert active_version("for_you").pk == new.version_id


def test_rollback_without_an_earlier_version_says_so(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    with pytest.raises(RegistryError, match="no earlier for_you version has been active"):
        rollback("for_you")


def test_one_active_version_per_scenario_is_enforced(two_trainings):
    from django.db import IntegrityError, transaction

    old, _ = two_trainings
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=old.version_id).update(status="active")


def test_old_versions_are_pruned_with_their_files(two_trainings):
    old, new = two_trainings
    stale = ModelVersion.objects.get(pk=old.version_id)
    path = stale.artifact.path
    assert prune_versions(keep=0) >= 1
    assert not ModelVersion.objects.filter(pk=old.version_id).exists()
    assert ModelVersion.objects.filter(pk=new.version_id).exists()
    import os

    assert not os.path.exists(path)


def test_old_runs_and_states_are_pruned(django_capture_on_commit_callbacks):
    from recommendations.models import TrainingRun
    from recommendations.registry import prune_runs
    from recommendations.training import latest_state

    TrainingRun.objects.bulk_create([TrainingRun(kind="full", status="skipped") for _ in range(3)])
    make_events(n_users=30)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
        make_events(n_users=2, first_user=9000)
        train("incremental")
        make_events(n_users=2, first_user=9100)
        train("incremental")
    newest = latest_state()[0]
    prune_runs(keep_states=1, keep_runs=3)
    assert list(TrainingRun.objects.exclude(state="").values_list("pk", flat=True)) == [newest.pk]
    assert set(TrainingRun.objects.values_list("kind", flat=True)) == {"full", "incremental"}
    assert TrainingRun.objects.count() == 3
