"""The promotion gate on real training runs: every number it compares comes from one split.

Each test trains twice or more on data that changed in between, as a store's loop does, and
asserts what a merchandiser would see: which version is active and why.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from recommendations import training
from recommendations.engine.models import EASE
from recommendations.engine.selection import Candidate, candidate_for
from recommendations.models import Event, ModelVersion
from recommendations.registry import RegistryError, active_version, rollback
from recommendations.retention import delete_expired_events
from recommendations.training import train
from recommendations.types import GATED_SCENARIOS

from .helpers import FIRST_USER, make_events, new_traffic, reject_next_for_you

pytestmark = pytest.mark.django_db


def _outcomes(result):
    return {outcome.scenario: outcome for outcome in result.scenarios}


def _trained(capture, kind="full"):
    with capture(execute=True):
        return train(kind)


def test_an_incremental_run_on_new_traffic_is_promoted(django_capture_on_commit_callbacks):
    make_events()
    full = _trained(django_capture_on_commit_callbacks)
    assert all(outcome.promoted for outcome in full.scenarios)

    new_traffic(seed=1)
    result = _trained(django_capture_on_commit_callbacks, "incremental")

    assert result.kind == "incremental" and result.events_read == 46
    outcomes = _outcomes(result)
    for scenario in GATED_SCENARIOS:
        outcome = outcomes[scenario]
        assert outcome.promoted, outcome.describe()
        assert active_version(scenario).pk == outcome.version_id
        # The active version's configuration was refitted on this run's own split.
        version = ModelVersion.objects.get(pk=outcome.version_id)
        assert version.reference is not None and version.reference_metric is not None
        assert f"{version.reference.version} {version.reference_metric:.4f}" in outcome.reason
        assert "on the same validation split" in outcome.reason


def test_a_candidate_trained_on_shuffled_item_ids_is_rejected(
    monkeypatch, django_capture_on_commit_callbacks
):
    make_events()
    _trained(django_capture_on_commit_callbacks)
    active = active_version("for_you")

    class ShuffledItems(EASE):
        """EASE fitted on a matrix whose item columns were permuted: every item id is wrong."""

        def fit(self, matrix):
            order = np.random.default_rng(7).permutation(matrix.shape[1])
            return super().fit(matrix[:, order])

    shuffled = Candidate("shuffled", lambda: ShuffledItems(regularization=50.0, device="cpu"))
    real = training.references.incremental_candidates
    monkeypatch.setattr(
        training.references,
        "incremental_candidates",
        lambda references: {**real(references), "for_you": [shuffled]},
    )
    new_traffic(seed=2)
    result = _trained(django_capture_on_commit_callbacks, "incremental")

    outcome = _outcomes(result)["for_you"]
    assert not outcome.promoted
    rejected = ModelVersion.objects.get(pk=outcome.version_id)
    assert rejected.status == ModelVersion.Status.REJECTED
    assert rejected.reference_id == active.pk
    assert rejected.reference_metric > 2 * rejected.metric
    assert (
        f"{rejected.metric:.4f} is worse than {active.version}'s "
        f"{rejected.reference_metric:.4f} on the same validation split"
    ) in outcome.reason
    assert active_version("for_you").pk == active.pk


def test_after_an_erasure_and_retention_the_next_runs_still_promote(
    settings, django_capture_on_commit_callbacks
):
    make_events(n_users=100)
    _trained(django_capture_on_commit_callbacks)

    Event.objects.filter(user_id=FIRST_USER + 3).delete()
    newest = Event.objects.order_by("-ts").values_list("ts", flat=True).first()
    cutoff = newest - timedelta(days=20)
    Event.objects.filter(ts__lt=cutoff).update(ts=cutoff - timedelta(days=400))
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "EVENT_RETENTION_DAYS": 365}
    assert delete_expired_events() > 0
    new_traffic(seed=3)

    for kind in ("full", "incremental"):
        if kind == "incremental":
            new_traffic(seed=4)
        result = _trained(django_capture_on_commit_callbacks, kind)
        for scenario in GATED_SCENARIOS:
            outcome = _outcomes(result)[scenario]
            assert outcome.promoted, outcome.describe()


def test_twenty_small_cycles_never_leave_a_scenario_on_an_old_version(
    django_capture_on_commit_callbacks,
):
    make_events()
    _trained(django_capture_on_commit_callbacks)
    for cycle in range(20):
        new_traffic(seed=100 + cycle, views=int(5 + 3 * (cycle % 4)), orders=cycle % 2)
        result = _trained(django_capture_on_commit_callbacks, "incremental")
        assert result.status == "finished"
        for scenario, outcome in _outcomes(result).items():
            assert outcome.promoted, f"cycle {cycle}: {outcome.describe()}"
            assert active_version(scenario).run_id == result.run_id


def test_small_drops_in_a_row_are_measured_against_the_best_recent_version(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    """A weaker configuration forced in, then the same one on a little more data: within the
    tolerance of the active version, but not of the better one active before it: rejected."""
    make_events()
    _trained(django_capture_on_commit_callbacks)
    best = active_version("for_you")
    real = training.references.incremental_candidates

    def weaker(neighbours: int):
        candidate = candidate_for("itemknn", {"neighbours": neighbours}, "cpu")
        return lambda references: {**real(references), "for_you": [candidate]}

    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 1.0}
    monkeypatch.setattr(training.references, "incremental_candidates", weaker(1))
    new_traffic(seed=5)
    forced = _outcomes(_trained(django_capture_on_commit_callbacks, "incremental"))["for_you"]
    assert forced.promoted and forced.reference_metric > forced.metric / 0.98

    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 0.02}
    monkeypatch.setattr(training.references, "incremental_candidates", weaker(1))
    new_traffic(seed=6)
    outcome = _outcomes(_trained(django_capture_on_commit_callbacks, "incremental"))["for_you"]

    version = ModelVersion.objects.get(pk=outcome.version_id)
    references = version.metrics["references"]
    assert set(references) >= {forced.version, best.version}
    # Within the tolerance of the active (weaker) configuration ...
    assert version.metric >= references[forced.version] * 0.98
    # ... but measured against the best recent one, and rejected.
    assert not outcome.promoted
    assert version.reference_id == best.pk
    assert f"worse than {best.version}'s" in outcome.reason


def test_rolling_back_to_a_rejected_version_needs_force(
    monkeypatch, django_capture_on_commit_callbacks
):
    make_events()
    _trained(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = reject_next_for_you(monkeypatch)
    assert not outcome.promoted

    with pytest.raises(RegistryError, match="was rejected by the promotion gate"):
        rollback("for_you", to=outcome.version_id)
    assert active_version("for_you").pk != outcome.version_id
    restored = rollback("for_you", to=outcome.version_id, force=True)
    assert restored.status == ModelVersion.Status.ACTIVE
    assert "overriding the gate's rejection" in restored.reason
