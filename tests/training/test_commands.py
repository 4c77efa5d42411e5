"""recommendations_train, recommendations_evaluate and recommendations_rollback."""

from __future__ import annotations

import csv
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommendations.models import ModelVersion, TrainingRun
from recommendations.registry import active_version

from .helpers import another_run_in_progress, make_events, new_traffic, reject_next_for_you


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_train_prints_each_scenario_with_its_metric_and_verdict(
    django_capture_on_commit_callbacks,
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        output = run("recommendations_train", "--full")
    assert output.startswith("full training: ")
    for scenario in ("for_you", "similar_item", "bought_together", "trending"):
        assert f"  {scenario}: " in output
    line = next(line for line in output.splitlines() if "for_you:" in line)
    version = active_version("for_you")
    assert f"{version.version} ({version.model}) ndcg@10 {version.metric:.4f}" in line
    assert f"popularity {version.popularity_metric:.4f}: promoted: " in line
    assert "4 of 4 candidates promoted" in output


@pytest.mark.django_db
def test_train_on_a_tiny_store_says_popularity_is_kept():
    make_events(n_users=3, per_user=2)
    output = run("recommendations_train")
    assert "too few to validate" in output and "popularity kept" in output


@pytest.mark.django_db
def test_train_refuses_to_overlap_another_run():
    with (
        another_run_in_progress(),
        pytest.raises(CommandError, match=r"another training run \(#\d+\) is running since"),
    ):
        run("recommendations_train", "--full")


def test_train_options_are_exclusive():
    with pytest.raises(CommandError):
        run("recommendations_train", "--full", "--incremental")


@pytest.mark.django_db
def test_rollback_command(settings, django_capture_on_commit_callbacks):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 1.0}
    make_events(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
    first = active_version("for_you")
    make_events(seed=2, first_user=5000)
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
    second = active_version("for_you")
    assert second.pk != first.pk

    with django_capture_on_commit_callbacks(execute=True):
        output = run("recommendations_rollback", "for_you")
    assert (
        output.strip()
        == f"for_you: {first.version} is active (was {second.version}); lists recomputed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_rollback", "for_you", "--to", str(second.pk))
    assert active_version("for_you").pk == second.pk

    similar = active_version("similar_item")
    for args, message in [
        (("nonsense",), "unknown scenario 'nonsense'; expected one of for_you, similar_item"),
        (("for_you", "--to", "424242"), "no model version with id 424242"),
        (("for_you", "--to", str(similar.pk)), "is a similar_item version, not for_you"),
        (("for_you", "--to", str(second.pk)), "is already active"),
    ]:
        with pytest.raises(CommandError, match=message):
            run("recommendations_rollback", *args)
    assert active_version("for_you").pk == second.pk
    assert ModelVersion.objects.filter(status="active").count() == 4


def test_rollback_needs_a_numeric_id():
    with pytest.raises(CommandError, match="invalid int value"):
        run("recommendations_rollback", "for_you", "--to", "latest")


def clustered_csv(path, *, header=("user", "item", "timestamp", "note"), unix=False) -> None:
    """120 users in two taste clusters over 40 items; ISO or Unix timestamps, an extra column."""
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for user in range(120):
            offset = 0 if user % 2 == 0 else 20
            for k, item in enumerate(rng.choice(20, size=8, replace=False) + offset):
                seconds = 1_700_000_000 + user * 1000 + k * 60
                stamp = str(seconds) if unix else f"2023-11-14T22:{k:02d}:{user % 60:02d}Z"
                writer.writerow([f"u{user}", f"i{item}", stamp, "ignored"][: len(header)])


@pytest.mark.parametrize("unix", [False, True])
def test_evaluate_interactions_json_prints_exactly_one_object(tmp_path, unix):
    path = tmp_path / "interactions.csv"
    clustered_csv(path, unix=unix)
    output = run("recommendations_evaluate", "--interactions", str(path), "--json")
    result = json.loads(output)  # one object and nothing else
    assert set(result) == {"protocol", "models", "selected"}
    assert result["protocol"] == "leave_last_out"
    assert result["selected"] in result["models"]
    # The sequential model and its blend are evaluated by default, as full runs train them.
    assert {"popularity", "itemknn", "ease", "als", "sasrec", "blend"} <= set(result["models"])
    for metrics in result["models"].values():
        assert set(metrics) == {"hr@10", "recall@20", "ndcg@10", "fit_s"}
    assert result["models"]["ease"]["ndcg@10"] > result["models"]["popularity"]["ndcg@10"]


def test_evaluate_prints_a_row_per_model_without_json(tmp_path):
    path = tmp_path / "interactions.csv"
    clustered_csv(path)
    output = run(
        "recommendations_evaluate", "--interactions", str(path), "--protocol", "time",
        "--no-sequential",
    )  # fmt: skip
    lines = output.splitlines()
    assert not any(line.startswith(("sasrec ", "blend ")) for line in lines)
    assert lines[0] == "protocol: time"
    assert lines[1].split() == ["model", "hr@10", "recall@20", "ndcg@10", "fit_s"]
    assert any(line.startswith("popularity ") for line in lines)
    assert sum("<- selected" in line for line in lines) == 1
    assert lines[-1].startswith("selected: ")


def test_evaluate_names_a_missing_column(tmp_path):
    path = tmp_path / "interactions.csv"
    clustered_csv(path, header=("user", "item", "when"))
    with pytest.raises(CommandError, match=r"missing column\(s\) timestamp"):
        run("recommendations_evaluate", "--interactions", str(path), "--json")


def test_evaluate_refuses_bad_files(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("recommendations_evaluate", "--interactions", str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,timestamp\nu1,i1,yesterday\n")
    with pytest.raises(CommandError, match="bad timestamp 'yesterday' on line 2"):
        run("recommendations_evaluate", "--interactions", str(bad))
    few = tmp_path / "few.csv"
    few.write_text("user,item,timestamp\nu1,i1,1\nu1,i2,2\n")
    with pytest.raises(CommandError, match="no user has enough interactions"):
        run("recommendations_evaluate", "--interactions", str(few))


@pytest.mark.django_db
def test_evaluate_on_the_stores_own_events():
    make_events()
    result = json.loads(run("recommendations_evaluate", "--json"))
    assert result["selected"] in result["models"]
    assert result["models"]["itemknn"]["ndcg@10"] > result["models"]["popularity"]["ndcg@10"]


@pytest.mark.django_db
def test_evaluate_on_an_empty_store_says_what_to_do():
    with pytest.raises(CommandError, match="no events to evaluate on"):
        run("recommendations_evaluate")


@pytest.mark.django_db
def test_train_with_nothing_new_says_so(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
    run_id = TrainingRun.objects.get().pk
    output = run("recommendations_train", "--incremental")
    assert output.strip() == (
        f"incremental training: no new events since training #{run_id}; active models kept"
    )


@pytest.mark.django_db
def test_incremental_train_prints_the_two_same_split_numbers(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
        new_traffic(seed=1)
        output = run("recommendations_train", "--incremental")
    assert output.startswith("incremental training: ")
    line = next(line for line in output.splitlines() if "for_you:" in line)
    version = active_version("for_you")
    numbers = f"{version.reference.version} {version.reference_metric:.4f}"
    assert f"ndcg@10 {version.metric:.4f}" in line and numbers in line
    assert "promoted: " in line and "on the same validation split" in line


@pytest.mark.django_db
def test_rollback_to_a_rejected_version_needs_force(
    monkeypatch, django_capture_on_commit_callbacks
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
        outcome = reject_next_for_you(monkeypatch)
    target = str(outcome.version_id)
    with pytest.raises(CommandError, match=r"rejected by the promotion gate.*--force"):
        run("recommendations_rollback", "for_you", "--to", target)
    with django_capture_on_commit_callbacks(execute=True):
        output = run("recommendations_rollback", "for_you", "--to", target, "--force")
    assert f"for_you: {outcome.version} is active" in output
    assert "overriding the gate's rejection" in output


@pytest.mark.django_db
def test_rollback_accepts_the_slot_spelling_and_names_the_choices(
    settings, django_capture_on_commit_callbacks
):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PROMOTION_TOLERANCE": 1.0}
    make_events(seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        run("recommendations_train", "--full")
        first = active_version("for_you")
        make_events(seed=2, first_user=5000)
        run("recommendations_train", "--full")
        output = run("recommendations_rollback", "for-you")
    assert f"for_you: {first.version} is active" in output
    with pytest.raises(CommandError, match="unknown scenario 'foryou'; expected one of for_you"):
        run("recommendations_rollback", "foryou")
