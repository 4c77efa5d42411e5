"""The blend of a co-occurrence model and the sequential model: standardised scores weighted by
what the validation split prefers, no worse than its better part on held-out items."""

from __future__ import annotations

import io
from functools import partial

import numpy as np
import pytest

from recommendations.engine.metrics import ranking_metrics
from recommendations.engine.models import EASE, Blend, SASRec
from recommendations.engine.selection import BLEND_WEIGHTS, Candidate, select_blend
from recommendations.engine.splits import leave_last_out

from .test_sequential import SMALL, walks


@pytest.fixture(scope="module")
def data():
    return leave_last_out(*walks(n_users=400, steps=10))


def ndcg(model, split) -> float:
    users = split.users
    return ranking_metrics(model.recommend(users, n=20)[0], split.test[users])["ndcg@10"]


def test_a_weight_of_one_ranks_as_that_part_alone(data):
    ease = EASE(regularization=10.0, device="cpu").fit(data.train)
    sequential = SASRec(**SMALL, epochs=10).fit(data.train, data.train_times)
    users = data.users[:50]
    for weights, alone in (([1.0, 0.0], ease), ([0.0, 1.0], sequential)):
        blend = Blend([ease, sequential], weights, device="cpu").with_fitted(data.train)
        assert np.array_equal(blend.recommend(users, n=10)[0], alone.recommend(users, n=10)[0])


def test_the_validation_split_picks_the_weight_and_the_blend_is_no_worse_than_its_parts(data):
    ease = Candidate("ease", partial(EASE, regularization=10.0, device="cpu"))
    sequential = Candidate("sasrec", partial(SASRec, **SMALL, epochs=20))
    chosen = select_blend(data.train, data.train_times, ease, sequential)

    assert set(chosen.scores) == set(BLEND_WEIGHTS)
    assert chosen.weight == max(BLEND_WEIGHTS, key=lambda w: (chosen.scores[w], -w))
    assert chosen.weight > 0.0  # on walks the next item depends on order: EASE alone loses
    assert chosen.scores[chosen.weight] > chosen.scores[0.0]
    alone = {
        "ease": ndcg(ease.make().fit(data.train), data),
        "sasrec": ndcg(sequential.make().fit(data.train, data.train_times), data),
    }
    assert ndcg(chosen.model, data) >= max(alone.values()) - 0.01, alone


def test_the_evaluate_command_reports_the_sequential_model_and_the_blend(tmp_path):
    import csv
    import json
    from io import StringIO

    from django.core.management import call_command

    matrix, times = walks(n_users=300, steps=8)
    rows, cols = matrix.nonzero()
    path = tmp_path / "walks.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp"])
        for user, item in zip(rows, cols, strict=True):
            writer.writerow([f"u{user}", f"i{item}", int(1_700_000_000 + times[user, item])])
    out = StringIO()
    call_command(
        "recommendations_evaluate",
        "--interactions",
        str(path),
        "--sequential",
        "--json",
        "--time-budget",
        "300",
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())
    assert {"ease", "sasrec", "blend"} <= set(result["models"])
    assert result["selected"] in result["models"]
    for metrics in result["models"].values():
        assert set(metrics) == {"hr@10", "recall@20", "ndcg@10", "fit_s"}
    # On walks the next item depends on order: the sequential model and the blend lead.
    models = result["models"]
    assert models["blend"]["ndcg@10"] > models["ease"]["ndcg@10"]
    assert result["selected"] in {"sasrec", "blend"}


def test_web_processes_score_the_blend_artifact_as_training_does(data):
    from recommendations.engine.artifacts import load_artifact, load_scorer, save_artifact

    ease = EASE(regularization=10.0, device="cpu").fit(data.train)
    sequential = SASRec(**SMALL, epochs=10).fit(data.train, data.train_times)
    blend = Blend([ease, sequential], [0.4, 0.6], device="cpu").with_fitted(data.train)
    buffer = io.BytesIO()
    save_artifact(blend.to_artifact(), buffer)
    scorer = load_scorer(load_artifact(buffer.getvalue()))
    assert scorer.ordered and scorer.n_items == data.train.shape[1]

    users = data.users[:40]
    trained = blend.recommend(users, n=10)[0]
    agree = []
    for row, user in enumerate(users):
        lo, hi = data.train.indptr[user], data.train.indptr[user + 1]
        items = data.train.indices[lo:hi]
        order = np.argsort(data.train_times[user, items].toarray().ravel(), kind="stable")
        top, _ = scorer.recommend(items[order], n=10)
        agree.append(len(set(top) & set(trained[row])) / 10)
    # EASE's table keeps each item's top neighbours, so the two differ a little, not in kind.
    assert np.mean(agree) >= 0.8, np.mean(agree)


def test_selection_tunes_a_blend_on_the_split_and_a_stored_version_rebuilds_it(data):
    from recommendations.engine.selection import (
        candidate_for,
        for_you_candidates,
        select_for_you,
        sequential_candidates,
    )

    small = {k: v for k, v in SMALL.items() if k != "device"}
    candidates = [
        *for_you_candidates(data.train.shape[1], "cpu")[:1],
        *sequential_candidates(data.train.shape[1], "cpu", epochs=10, **small),
    ]
    selection = select_for_you(
        data.train, data.train_times, candidates=candidates, refit=False, device="cpu"
    )
    trials = {trial.name: trial for trial in selection.trials}
    blend = trials["blend"]
    assert blend.params["parts"] == ["ease", "sasrec"]
    weight = blend.params["weights"][1]
    assert weight in BLEND_WEIGHTS and weight > 0.0  # order decides on walks
    # Its sequential part is the sasrec trial's model, not fitted again (only EASE is) ...
    assert blend.fit_s < 0.5 * trials["sasrec"].fit_s, (blend.fit_s, trials["sasrec"].fit_s)
    # ... and a version stored with these parameters is rebuilt with the same weights.
    rebuilt = candidate_for("blend", blend.params, "cpu").make()
    assert isinstance(rebuilt, Blend) and rebuilt.weights == blend.params["weights"]
    assert [part.name for part in rebuilt.parts] == ["ease", "sasrec"]
    assert blend.fresh().weights == blend.params["weights"]


def test_a_warm_start_fine_tunes_on_the_users_with_new_events():
    matrix, times = walks(n_users=300, steps=8)
    first = SASRec(**SMALL, epochs=2).fit(matrix, times)
    assert first.trained_until == times.data.max()
    later = times.copy()
    changed = np.arange(0, 300, 10)
    for user in changed:  # 30 users act again, after the last fit
        hi = later.indptr[user + 1]
        later.data[hi - 1] = first.trained_until + 3600.0 + user
    second = SASRec(**SMALL, epochs=1)
    second.train = matrix
    rows = second._rows_to_train(later, first)
    assert set(changed) <= set(rows) and len(rows) == 2 * len(changed)
    assert len(SASRec(**SMALL).fit(matrix, later)._rows_to_train(later, None)) == 300
    tuned = SASRec(**SMALL).fit(matrix, later, warm_start=first.to_artifact())
    assert tuned.trained_until == later.data.max()
