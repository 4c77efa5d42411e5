"""The sequential model in the training loop: a full run selects it where order carries the
signal, web processes serve it without torch in the order a visitor acted, and an incremental run
fine-tunes it from the active checkpoint on the users with new events."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from recommendations.engine.artifacts import load_artifact
from recommendations.models import Event, ModelVersion
from recommendations.registry import active_version, load_version_artifact
from recommendations.serving.models import ActiveModels
from recommendations.training import train

from .helpers import START, stored, view

pytestmark = pytest.mark.django_db
N_ITEMS = 40
FIRST = 5000


def successors(seed: int = 0) -> np.ndarray:
    """Every item leads to one of two fixed next items: only order tells what comes next."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(N_ITEMS), rng.permutation(N_ITEMS)], axis=1)


def walk_events(users: range, steps: int, start, seed: int) -> list[Event]:
    """Each user walks on from the item they viewed last (or from a random one)."""
    rng = np.random.default_rng(seed)
    following = successors()
    events = []
    for user in users:
        last = Event.objects.filter(user_id=user).order_by("-ts").values_list("item_id", flat=True)
        item = int(following[int(last[0]), rng.integers(2)]) if last else int(rng.integers(N_ITEMS))
        for step in range(steps):
            events.append(view(user, item, start + timedelta(hours=step, seconds=user)))
            item = int(following[item, rng.integers(2)])
    return Event.objects.bulk_create(events)


@pytest.fixture
def sequential_store(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "SEQUENTIAL_MIN_USERS": 100}
    walk_events(range(FIRST, FIRST + 400), steps=10, start=START, seed=1)


def test_a_full_run_selects_a_sequential_model_where_order_decides(
    sequential_store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = train("full")

    outcome = next(o for o in result.scenarios if o.scenario == "for_you")
    active = active_version("for_you")
    assert active is not None and active.model in {"sasrec", "blend"}, outcome.describe()
    assert {"sasrec", "blend"} <= _trial_names(active)
    if active.model == "blend":
        assert active.params["parts"] == ["ease", "sasrec"]
        assert sum(active.params["weights"]) == pytest.approx(1.0)

    # Web processes score it with numpy, reading the visitor's history oldest first: after the
    # same two items in the opposite order, the lists follow the item viewed last.
    model = ActiveModels().get("for_you")
    assert model is not None and model.scorer.ordered
    following = successors()
    a, b = 3, int(following[3, 0])
    after_b = {str(item) for item in following[b]}
    after_a = {str(item) for item in following[a]}
    ab = [item for item, _ in model.recommend([str(b), str(a)], 4)]  # newest first: b last
    ba = [item for item, _ in model.recommend([str(a), str(b)], 4)]
    assert after_b & set(ab[:2]) and ab != ba, (ab, ba, after_a, after_b)

    # The precomputed lists of signed-in users are scored the same way, in time order: most
    # users' lists lead with a successor of the item they viewed last.
    led = 0
    for user in range(FIRST, FIRST + 50):
        last = Event.objects.filter(user_id=user).order_by("-ts").values_list("item_id", flat=True)
        found = stored(f"user:{user}")
        assert found is not None and found.model_version == active.version
        top = {item for item, _ in found.items[:2]}
        led += bool(top & {str(item) for item in following[int(last[0])]})
    assert led >= 35, led


def test_the_settings_keep_it_out_of_small_stores_and_out_when_off(
    sequential_store, settings, django_capture_on_commit_callbacks
):
    for extra in ({"SEQUENTIAL_MIN_USERS": 401}, {"SEQUENTIAL_MODEL": False}):
        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, **extra}
        with django_capture_on_commit_callbacks(execute=True):
            result = train("full")
        outcome = next(o for o in result.scenarios if o.scenario == "for_you")
        names = _trial_names(ModelVersion.objects.get(pk=outcome.version_id))
        assert names and not names & {"sasrec", "blend"}, (extra, names)


def test_an_incremental_run_fine_tunes_the_active_checkpoint_on_new_events(
    sequential_store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    first = active_version("for_you")
    assert first is not None and first.model in {"sasrec", "blend"}
    before = _sequential_part(load_version_artifact(first))

    latest = Event.objects.order_by("-ts").values_list("ts", flat=True).first()
    walk_events(range(FIRST, FIRST + 40), steps=4, start=latest + timedelta(days=1), seed=2)
    with django_capture_on_commit_callbacks(execute=True):
        result = train("incremental")

    outcome = next(o for o in result.scenarios if o.scenario == "for_you")
    assert outcome.promoted, outcome.describe()
    second = active_version("for_you")
    assert second is not None and second.pk != first.pk and second.model == first.model
    after = _sequential_part(load_artifact(second.artifact.open("rb").read()))
    # Continued from the checkpoint: it learnt until the newest event, and its item rows moved
    # from the old ones rather than starting again from noise.
    assert float(after.arrays["trained_until"]) > float(before.arrays["trained_until"])
    old, new = before.arrays["items.weight"], after.arrays["items.weight"]
    assert not np.allclose(old, new)
    assert np.corrcoef(old.ravel(), new.ravel())[0, 1] > 0.9
    assert ModelVersion.objects.filter(scenario="for_you", status="active").count() == 1
    # Validated forward, on the pairs first seen since the checkpoint, by the checkpoint itself:
    # no fit from scratch in the incremental run.
    full_fit = _fit_seconds(first, "sasrec")
    incremental_fit = _fit_seconds(second, first.model)
    assert incremental_fit < 0.5 * full_fit, (full_fit, incremental_fit)


def _fit_seconds(version: ModelVersion, name: str) -> float:
    return next(t["fit_s"] for t in version.metrics["trials"] if t["name"] == name)


def _trial_names(version: ModelVersion) -> set[str]:
    return {trial["name"] for trial in version.metrics.get("trials", [])}


def _sequential_part(artifact):
    if artifact.kind == "sequence":
        return artifact
    from recommendations.engine.models.blend import part_artifacts

    return next(part for part in part_artifacts(artifact) if part.kind == "sequence")
