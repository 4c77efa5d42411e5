"""The stricter last-basket protocol: whole baskets held out, their basket-mates not trained on."""

from __future__ import annotations

import csv
import json
from io import StringIO

import numpy as np
import pytest
import scipy.sparse as sp
from django.core.management import call_command

from recommendations.engine import selection
from recommendations.engine.evaluation import evaluate_interactions
from recommendations.engine.models import EASE, ItemKNN, Popularity
from recommendations.engine.selection import Candidate, select_for_you
from recommendations.engine.splits import PROTOCOLS, last_basket, leave_last_out, split_by
from recommendations.management.commands.recommendations_evaluate import Command

from .synthetic import clustered

N_ITEMS = 8


def baskets(*users: list[tuple[float, list[int]]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Users as lists of (time, items) baskets; every pair once, at its basket's time."""
    rows, cols, stamps = [], [], []
    for user, user_baskets in enumerate(users):
        for stamp, items in user_baskets:
            rows += [user] * len(items)
            cols += items
            stamps += [stamp] * len(items)
    shape = (len(users), N_ITEMS)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    times = sp.csr_matrix((np.array(stamps, np.float64), (rows, cols)), shape=shape)
    return matrix, times


def items_of(matrix: sp.csr_matrix, user: int) -> set[int]:
    return set(matrix[user].indices.tolist())


def test_the_whole_latest_basket_is_held_out_and_none_of_it_trained_on():
    matrix, times = baskets(
        [(1.0, [0, 1]), (2.0, [2]), (5.0, [3, 4, 5])],  # latest basket of three
        [(3.0, [6]), (4.0, [0, 7])],
    )
    split = last_basket(matrix, times)
    assert split.protocol == "last_basket"
    assert items_of(split.test, 0) == {3, 4, 5}
    assert items_of(split.train, 0) == {0, 1, 2}
    assert items_of(split.test, 1) == {0, 7}
    assert items_of(split.train, 1) == {6}
    # Leave-last-out would keep two of the three basket-mates in training.
    reference = leave_last_out(matrix, times)
    assert len(items_of(reference.test, 0)) == 1
    assert len(items_of(reference.train, 0) & {3, 4, 5}) == 2
    # Nothing lost, nothing duplicated; training times follow the training cells.
    assert split.train.nnz + split.test.nnz == matrix.nnz
    assert split.train.multiply(split.test).nnz == 0
    assert (split.train_times != 0).sum() == split.train.nnz
    assert split.train_times[0, 2] == 2.0


def test_users_with_a_single_basket_or_too_few_items_stay_in_training_only():
    matrix, times = baskets(
        [(7.0, [0, 1, 2, 3])],  # one basket, however large
        [(1.0, [4]), (2.0, [5])],  # two baskets but only two items
        [(1.0, [4]), (2.0, [5, 6])],  # qualifies
    )
    split = last_basket(matrix, times)
    assert split.users.tolist() == [2]
    assert items_of(split.train, 0) == {0, 1, 2, 3}
    assert items_of(split.train, 1) == {4, 5}
    assert items_of(split.test, 2) == {5, 6}
    assert last_basket(matrix, times, min_items=2).users.tolist() == [1, 2]


def test_the_split_is_reproducible_and_has_no_ties_to_break():
    matrix, times = clustered(n_users=60, n_items=30, per_user=6)
    # Coarse stamps: many items of a user share one, as lines of one order do.
    times.data = np.floor(times.data / 86_400.0 / 5.0)
    first = last_basket(matrix, times, seed=0)
    for seed in (0, 1, 7):
        again = last_basket(matrix, times, seed=seed)
        assert (again.test != first.test).nnz == 0
        assert (again.train != first.train).nnz == 0
    latest = np.full(matrix.shape[0], -np.inf)
    coo = times.tocoo()
    np.maximum.at(latest, coo.row, coo.data)
    held = first.test.tocoo()
    assert np.all(latest[held.row] == times[held.row, held.col].A1)
    assert first.test.nnz > len(first.users)  # some baskets have several items


def test_split_by_dispatches_and_names_unknown_protocols():
    matrix, times = baskets([(1.0, [0]), (2.0, [1, 2])], [(1.0, [3, 4, 5])])
    assert PROTOCOLS[0] == "leave_last_out"
    for protocol in PROTOCOLS:
        assert split_by(protocol, matrix, times).protocol == protocol
    with pytest.raises(ValueError, match="unknown protocol 'random'"):
        split_by("random", matrix, times)


def small_candidates() -> list[Candidate]:
    return [
        Candidate("popularity", lambda: Popularity()),
        Candidate("itemknn", lambda: ItemKNN(neighbours=20)),
        Candidate("ease", lambda: EASE(regularization=20.0)),
    ]


def session_table() -> dict[str, list]:
    """Clustered users whose items come in sessions of three sharing one timestamp."""
    matrix, times = clustered(n_users=80, n_items=40, per_user=9)
    coo = matrix.tocoo()
    order = np.lexsort((times.tocoo().data, coo.row))
    rank = np.arange(len(order)) - np.repeat(np.flatnonzero(np.diff(coo.row[order], prepend=-1)), 9)
    stamps = np.empty(len(order))
    stamps[order] = 1_700_000_000 + coo.row[order] * 1000 + (rank // 3) * 60
    return {
        "user": [f"u{r}" for r in coo.row],
        "item": [f"i{c}" for c in coo.col],
        "timestamp": stamps.tolist(),
    }


def test_evaluation_and_its_validation_follow_the_protocol(monkeypatch):
    seen = {}
    real = selection.split_by

    def spy(protocol, matrix, times, **kwargs):
        seen.setdefault("protocols", []).append(protocol)
        seen["nnz"] = matrix.nnz
        return real(protocol, matrix, times, **kwargs)

    monkeypatch.setattr(selection, "split_by", spy)
    data = session_table()
    result = evaluate_interactions(data, protocol="last_basket", candidates=small_candidates())
    assert result["protocol"] == "last_basket"
    assert set(result["models"]) == {"popularity", "itemknn", "ease"}
    assert seen["protocols"] == ["last_basket"]
    n_users = len(set(data["user"]))
    assert seen["nnz"] == len(data["user"]) - 3 * n_users  # every user gave up a session of 3


def test_select_for_you_validates_on_the_latest_training_baskets():
    matrix, times = clustered(n_users=80, n_items=40, per_user=9)
    times.data = np.floor(times.data / 86_400.0 / 6.0)
    chosen = select_for_you(
        matrix, times, candidates=small_candidates(), protocol="last_basket", refit=False
    )
    assert chosen.best.name != "popularity"
    assert {trial.name for trial in chosen.trials} == {"popularity", "itemknn", "ease"}


def test_the_ease_grid_reaches_several_hundred():
    grid = selection.EASE_REGULARIZATIONS
    assert list(grid) == sorted(grid, reverse=True)  # smoothest (simplest) first
    assert max(grid) >= 500.0 and min(grid) <= 50.0
    names = [
        c.make().params() for c in selection.for_you_candidates(100, "cpu") if c.name == "ease"
    ]
    assert [p["regularization"] for p in names] == list(grid)


def test_evaluate_command_last_basket_json_keeps_its_shape(tmp_path):
    path = tmp_path / "interactions.csv"
    data = session_table()
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp"])
        writer.writerows(zip(data["user"], data["item"], map(int, data["timestamp"]), strict=True))
    out = StringIO()
    call_command(
        "recommendations_evaluate",
        "--interactions",
        str(path),
        "--protocol",
        "last_basket",
        "--json",
        "--time-budget",
        "5",
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())  # one object and nothing else
    assert set(result) == {"protocol", "models", "selected"}
    assert result["protocol"] == "last_basket"
    assert result["selected"] in result["models"]
    for metrics in result["models"].values():
        assert set(metrics) == {"hr@10", "recall@20", "ndcg@10", "fit_s"}


def test_the_command_documents_both_protocols():
    parser = Command().create_parser("manage.py", "recommendations_evaluate")
    text = " ".join(parser.format_help().split())
    assert "--protocol {leave_last_out,last_basket,time}" in text
    assert "leave_last_out (default, the reference)" in text
    assert "last_basket (stricter)" in text
