"""The sequential model: it learns order where order matters, is reproducible on the CPU, warm
starts onto a grown catalogue, and its numpy encoder scores what torch scores."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recommendations.engine.artifacts import load_artifact, load_scorer, save_artifact
from recommendations.engine.metrics import ranking_metrics
from recommendations.engine.models import Popularity, SASRec
from recommendations.engine.selection import (
    fit_model,
    for_you_candidates,
    select_for_you,
    sequential_candidates,
)
from recommendations.engine.sequential_numpy import SequenceScorer, weight_buckets
from recommendations.engine.splits import leave_last_out

DAY = 86_400.0
SMALL = {"dim": 32, "blocks": 1, "max_len": 10, "device": "cpu"}


def walks(
    n_users: int = 300, n_items: int = 50, steps: int = 8, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Users walk a directed graph where every item leads to one of two fixed successors: the
    next item depends on the latest one, and only order tells which end is the latest."""
    rng = np.random.default_rng(seed)
    successors = np.stack([rng.permutation(n_items), rng.permutation(n_items)], axis=1)
    rows, cols, times = [], [], []
    for user in range(n_users):
        item, seen = int(rng.integers(n_items)), set()
        for step in range(steps):
            if item not in seen:
                seen.add(item)
                rows.append(user)
                cols.append(item)
                times.append(step * DAY + user)
            item = int(successors[item, rng.integers(2)])
    shape = (n_users, n_items)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    stamps = sp.csr_matrix((np.asarray(times), (rows, cols)), shape=shape)
    matrix.sort_indices()
    stamps.sort_indices()
    return matrix, stamps


@pytest.fixture(scope="module")
def data():
    matrix, times = walks()
    return leave_last_out(matrix, times)


def ndcg(model, split) -> float:
    users = split.users
    return ranking_metrics(model.recommend(users, n=20)[0], split.test[users])["ndcg@10"]


def test_learns_order_beyond_popularity_and_its_shuffled_self(data):
    popularity = Popularity(device="cpu").fit(data.train)
    ordered = SASRec(**SMALL, epochs=20).fit(data.train, data.train_times)
    shuffled = SASRec(**SMALL, epochs=20, shuffle_order=True).fit(data.train, data.train_times)
    assert ndcg(ordered, data) > ndcg(popularity, data) + 0.4
    assert ndcg(ordered, data) > ndcg(shuffled, data) + 0.2


def test_window_shuffle_keeps_the_latest_items_in_the_window(data):
    ordered = SASRec(**SMALL, epochs=0)._sequences(data.train, data.train_times)[0]
    model = SASRec(dim=8, max_len=3, shuffle_order="window", device="cpu")
    windowed = model._sequences(data.train, data.train_times)[0]
    assert any(not np.array_equal(a, b) for a, b in zip(ordered, windowed, strict=True))
    for a, b in zip(ordered, windowed, strict=True):
        assert set(a[-3:]) == set(b[-3:]) and sorted(a) == sorted(b)


def test_deterministic_with_a_seed_on_cpu():
    # Large enough for the CPU kernels to split work across threads.
    split = leave_last_out(*walks(n_users=400, n_items=200, steps=30))
    settings = {"dim": 32, "max_len": 20, "epochs": 1, "device": "cpu"}
    first = SASRec(**settings, seed=3).fit(split.train, split.train_times)
    second = SASRec(**settings, seed=3).fit(split.train, split.train_times)
    other = SASRec(**settings, seed=4).fit(split.train, split.train_times)
    users = np.arange(50)
    same = first._score_users(users, split.train[users])
    assert torch.equal(same, second._score_users(users, split.train[users]))
    assert not torch.equal(same, other._score_users(users, split.train[users]))
    assert not torch.are_deterministic_algorithms_enabled()  # the caller's setting is back


def _features(n_items: int, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_items, 12)) < 0.25).astype(np.float32)
    dense[np.arange(n_items), np.arange(n_items) % 12] = 1.0
    return sp.csr_matrix(dense / np.linalg.norm(dense, axis=1, keepdims=True))


@pytest.mark.parametrize("content", [False, True])
def test_warm_start_keeps_old_items_and_gives_new_items_rows(data, content):
    n_items = data.train.shape[1]
    features = _features(n_items + 5)
    old = SASRec(**SMALL, epochs=20, seed=1).fit(
        data.train, data.train_times, features[:n_items] if content else None
    )
    grown = sp.hstack([data.train, sp.csr_matrix((data.train.shape[0], 5))], format="csr")
    grown_times = sp.hstack(
        [data.train_times, sp.csr_matrix((data.train.shape[0], 5))], format="csr"
    )
    for source in (old, old.to_artifact()):
        warm = SASRec(**SMALL, seed=1, fine_tune_epochs=1).fit(
            grown, grown_times, features, warm_start=source
        )
        assert warm.n_items == n_items + 5
        users = data.users[:50]
        before = old._score_users(users, data.train[users])
        after = warm._score_users(users, grown[users])
        # Old items: rankings barely move after one fine-tuning epoch on the same data.
        assert torch.corrcoef(torch.stack([before.ravel(), after[:, :n_items].ravel()]))[0, 1] > 0.9
        new_rows = warm.network.items.weight[n_items + 1 :]
        assert torch.isfinite(after[:, n_items:]).all()
        if content:
            # New items start from their text: no free embedding, content projection only.
            assert torch.all(warm._item_vectors()[n_items + 1 :].abs().sum(dim=1) > 0)
        else:
            # Without the content input, new rows borrow from the items most alike by content.
            assert torch.all(new_rows.abs().sum(dim=1) > 0)


def test_cold_fit_when_there_is_nothing_to_warm_start_from(data):
    model = SASRec(**SMALL, epochs=1, fine_tune_epochs=5).fit(data.train, data.train_times)
    assert len(model.epoch_s) == 1


def test_numpy_encoder_agrees_with_torch(data):
    weights = data.train.copy()
    weights.data = np.random.default_rng(0).choice([1.0, 3.0, 5.0, 10.0], size=weights.nnz)
    model = SASRec(dim=32, blocks=2, heads=2, max_len=6, epochs=2, device="cpu", seed=2).fit(
        weights, data.train_times, _features(data.train.shape[1])
    )
    buffer = io.BytesIO()
    save_artifact(model.to_artifact(), buffer)
    scorer = load_scorer(load_artifact(buffer.getvalue()))
    assert isinstance(scorer, SequenceScorer)
    rng = np.random.default_rng(1)
    histories = [rng.choice(data.train.shape[1], size=size, replace=False) for size in (1, 4, 9)]
    kinds = [rng.choice([1.0, 3.0, 5.0], size=len(h)) for h in histories]
    expected = model.score_sequences(histories, kinds).numpy()
    for row, (history, weight) in enumerate(zip(histories, kinds, strict=True)):
        np.testing.assert_allclose(
            scorer.score(history, weight), expected[row], rtol=1e-4, atol=1e-4
        )
    # Fitted users are scored from their own latest items, in order.
    user = int(data.users[0])
    items, buckets = model.recent[0][user], model.recent[1][user]
    np.testing.assert_allclose(
        model._score_users(np.array([user]), weights[[user]]).numpy()[0],
        scorer.score(items[items > 0] - 1, _weights(buckets)),
        rtol=1e-4,
        atol=1e-4,
    )
    assert list(weight_buckets([1.0, 3.0, 5.0, 10.0])) == [1, 2, 3, 4]


def _weights(buckets: np.ndarray) -> list[float]:
    """A representative weight of each kind bucket (0 is padding and dropped)."""
    return [(1.0, 3.0, 5.0, 10.0)[b - 1] for b in buckets[buckets > 0]]


SERVING_SCRIPT = """
import sys
from recommendations.engine.artifacts import load_scorer
scorer = load_scorer(sys.argv[1])
items, _ = scorer.recommend([3, 1, 2], [1.0, 5.0, 3.0], n=5)
assert len(items) == 5
print("torch" in sys.modules)
"""


def test_serving_scores_a_sequence_artifact_without_torch(data, tmp_path):
    model = SASRec(dim=16, blocks=2, heads=2, max_len=5, epochs=1, device="cpu").fit(
        data.train, data.train_times, _features(data.train.shape[1])
    )
    path = tmp_path / "sasrec.npz"
    save_artifact(model.to_artifact(), path)
    result = subprocess.run(
        [sys.executable, "-c", SERVING_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_selection_knows_it_but_does_not_train_it_by_default(data):
    assert "sasrec" not in {c.name for c in for_you_candidates(50, "cpu")}
    candidate, blend = sequential_candidates(50, "cpu", epochs=1, dim=16, blocks=1, max_len=5)
    assert (candidate.name, blend.name) == ("sasrec", "blend")
    model = fit_model(candidate.make(), data.train, times=data.train_times)
    assert isinstance(model, SASRec) and model.recent is not None
    selection = select_for_you(
        data.train,
        data.train_times,
        candidates=[
            *for_you_candidates(50, "cpu")[:1],
            *sequential_candidates(
                50, "cpu", epochs=20, **{k: v for k, v in SMALL.items() if k != "device"}
            )[:1],
        ],
        refit=False,
        device="cpu",
    )
    assert selection.best.name == "sasrec"
