"""The blend of a co-occurrence model and the sequential model: standardised scores weighted by
what the validation split prefers, no worse than its better part on held-out items."""

from __future__ import annotations

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
