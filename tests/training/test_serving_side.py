"""What web processes rely on: artifacts and precompute need numpy, never torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile

from recommendations.engine.artifacts import save_artifact
from recommendations.engine.data import build_interactions
from recommendations.engine.models import ALS, Popularity
from recommendations.models import ModelVersion
from recommendations.registry import active_version, rollback
from recommendations.training import latest_state, train
from recommendations.training.run import _warm_start

from .helpers import FIRST_USER, another_run_in_progress, make_events, stored, stored_keys

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def fit_als(state, keep_users: bool = True):
    """An ALS artifact over the state's pairs, with the state's maps (as training stores it)."""
    from recommendations.engine.data import EventLog
    from recommendations.engine.indexmap import IndexMap

    log = EventLog(
        state.user_keys[state.pair_users],
        state.item_keys[state.pair_items],
        state.pair_times,
        state.pair_weights.astype(np.float32),
    )
    interactions = build_interactions(
        log,
        user_map=IndexMap.from_array(state.user_map),
        item_map=IndexMap.from_array(state.item_map),
    )
    model = ALS(factors=8, iterations=5, device="cpu").fit(interactions.matrix)
    artifact = model.to_artifact(include_users=keep_users)
    artifact.item_keys = interactions.item_map.to_array()
    if keep_users:
        artifact.arrays["user_keys"] = interactions.user_map.to_array()
    return artifact, interactions


def save_version(artifact, scenario="for_you") -> ModelVersion:
    import io

    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    version = ModelVersion.objects.create(scenario=scenario, model=artifact.model, version="x")
    version.version = f"{artifact.model}-{version.pk}"
    version.artifact.save(f"{scenario}/{version.version}.npz", ContentFile(buffer.getvalue()))
    return version


@pytest.fixture
def trained(django_capture_on_commit_callbacks):
    make_events(visitors=2)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    return latest_state()


def test_als_lists_use_fitted_vectors_and_fold_in_the_others(
    trained, django_capture_on_commit_callbacks
):
    _, state = trained
    artifact, _ = fit_als(state)
    artifact.arrays["user_factors"] = artifact.arrays["user_factors"][:10]  # the rest fold in
    artifact.arrays["user_keys"] = artifact.arrays["user_keys"][:10]
    version = save_version(artifact)
    with django_capture_on_commit_callbacks(execute=True):
        rollback("for_you", to=version.pk)
    assert sum(stored(key).model_version == version.version for key in stored_keys("user:")) == 80
    mine = stored(f"user:{FIRST_USER}")
    assert len(mine.items) == 30 - 8  # every item but the eight seen


def test_incremental_runs_warm_start_from_an_aligned_als_version(trained):
    _, state = trained
    artifact, _ = fit_als(state)
    version = save_version(artifact)
    ModelVersion.objects.filter(scenario="for_you", status="active").update(status="retired")
    ModelVersion.objects.filter(pk=version.pk).update(status="active")
    assert _warm_start(state) is not None
    state.item_map = state.item_map[::-1]  # renumbered: no warm start
    assert _warm_start(state) is None


def test_a_non_personal_for_you_version_still_excludes_seen_items(
    trained, django_capture_on_commit_callbacks
):
    _, state = trained
    _, interactions = fit_als(state)
    popularity = Popularity(device="cpu").fit(interactions.matrix).to_artifact()
    popularity.item_keys = interactions.item_map.to_array()
    version = save_version(popularity)
    with django_capture_on_commit_callbacks(execute=True):
        rollback("for_you", to=version.pk)
    mine = stored(f"user:{FIRST_USER}")
    assert mine.model_version == version.version
    assert len(mine.items) == 22


def test_precompute_task_skips_versions_no_longer_active(trained):
    from recommendations.tasks import precompute_lists

    retired = ModelVersion.objects.exclude(status="active").first()
    if retired is None:
        retired = save_version(fit_als(trained[1])[0])
    assert precompute_lists.delay(retired.pk).get() == {}
    written = precompute_lists.delay().get()
    assert written["for-you"] == 80 and written["similar"] > 0 and written["also-viewed"] > 0


def test_tasks_are_registered_under_their_scheduled_names(trained):
    from celery import current_app

    names = set(current_app.tasks)
    assert {
        "recommendations.train_incremental",
        "recommendations.train_full",
        "recommendations.precompute_lists",
    } <= names
    result = current_app.tasks["recommendations.train_incremental"].delay().get()
    assert result["status"] == "skipped" and "no new events" in result["message"]
    with another_run_in_progress():
        busy = current_app.tasks["recommendations.train_full"].delay().get()
    assert busy["status"] == "busy"


def test_artifacts_and_precompute_work_where_torch_cannot_be_imported(trained, tmp_path):
    run, state = trained
    for_you = active_version("for_you")
    als, _ = fit_als(state)
    als_path = tmp_path / "als.npz"
    save_artifact(als, als_path)
    script = textwrap.dedent(
        f"""
        import json, os, sys

        class NoTorch:  # as on a host without torch: `import torch` raises ImportError
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}")
                return None

        sys.meta_path.insert(0, NoTorch())
        os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"
        import django
        django.setup()  # imports the admin (and with it the registry) too
        from django.core.management import call_command
        call_command("migrate", verbosity=0)  # precompute asks who was erased
        import recommendations.precompute as precompute
        import recommendations.registry, recommendations.tasks, recommendations.serving.pipeline
        from recommendations.engine.artifacts import load_artifact, load_scorer
        from recommendations.training import TrainingState

        class Store:
            def __init__(self): self.lists = {{}}
            def put_many(self, lists, model_version=""): self.lists.update(lists)

        state = TrainingState.load({str(run.state.path)!r})
        written = {{}}
        for name, path in (("active", {for_you.artifact.path!r}), ("als", {str(als_path)!r})):
            artifact = load_artifact(path)
            scorer = load_scorer(artifact)
            top, _ = scorer.recommend([0, 1, 2], n=5)
            store = Store()
            count = precompute.model_lists.write_user_lists(store, "v", artifact, state, 10, True)
            items = precompute.model_lists.write_item_lists(store, "v", artifact, "similar", 10, True)
            written[name] = [len(top), count, items]
        print(json.dumps({{"written": written, "torch": sys.modules.get("torch") is not None}}))
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'child.sqlite3'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    assert result["written"]["active"][0] == 5 and result["written"]["als"][1] == 80
    assert result["written"]["active"][2] > 0


def test_a_popularity_version_writes_no_item_relations(trained, django_capture_on_commit_callbacks):
    """ "Bought together with X" must never be a popularity list in disguise."""
    _, state = trained
    _, interactions = fit_als(state)
    popularity = Popularity(device="cpu").fit(interactions.matrix).to_artifact()
    popularity.item_keys = interactions.item_map.to_array()
    version = save_version(popularity, scenario="bought_together")
    with django_capture_on_commit_callbacks(execute=True):
        rollback("bought_together", to=version.pk)
    assert not [
        key
        for key in stored_keys("item:")
        if key.endswith(":bought-together") and stored(key).model_version == version.version
    ]
