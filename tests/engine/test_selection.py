import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.models import ALS, EASE, ItemKNN, Popularity, Recommender
from recommendations.engine.selection import (
    BASELINES,
    Candidate,
    choose,
    select_bought_together,
    select_for_you,
    select_similar_item,
)

from .synthetic import clustered, popular_world


def small_candidates():
    return [
        Candidate("popularity", lambda: Popularity()),
        Candidate("itemknn", lambda: ItemKNN(neighbours=20)),
        Candidate("ease", lambda: EASE(regularization=20.0)),
        Candidate("als", lambda: ALS(factors=8, regularization=1.0, alpha=5.0, iterations=8)),
    ]


def test_popularity_wins_where_nothing_is_personal():
    matrix, times = popular_world()
    selection = select_for_you(matrix, times, candidates=small_candidates())
    assert selection.best.name == "popularity"
    assert isinstance(selection.model, Popularity)


def test_a_personal_model_wins_on_clustered_data():
    matrix, times = clustered()
    selection = select_for_you(matrix, times, candidates=small_candidates())
    assert selection.best.name not in BASELINES
    popularity = selection.trials[0].metrics["ndcg@10"]
    assert selection.best.metrics["ndcg@10"] > popularity
    assert isinstance(selection.model, Recommender)
    assert selection.model.train.nnz == matrix.nnz  # refit on all of the training data


def test_default_candidates_and_similar_item_scenario():
    matrix, times = clustered()
    selection = select_similar_item(matrix, times, time_budget_s=60)
    assert selection.best.name not in BASELINES
    assert {trial.name for trial in selection.trials} >= {"popularity", "itemknn", "als"}


def test_time_budget_skips_later_candidates():
    matrix, times = clustered()
    selection = select_for_you(matrix, times, candidates=small_candidates(), time_budget_s=0.0)
    assert [trial.skipped for trial in selection.trials[1:]] == ["time budget spent"] * 3
    assert selection.best.name == "popularity"


def test_bought_together_scenario_prefers_co_purchase_tables():
    rng = np.random.default_rng(1)
    rows, cols = [], []
    for basket in range(1500):
        pair = rng.integers(0, 10) * 2  # items come in complementary pairs (0,1), (2,3), ...
        items = {pair, pair + 1, 20 + int(rng.integers(0, 3))}  # plus a best-seller
        rows += [basket] * len(items)
        cols += sorted(items)
    baskets = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(1500, 23))
    selection = select_bought_together(baskets, np.arange(1500.0))
    assert selection.best.name in {"bought_together", "itemknn"}
    assert selection.best.metrics["hr@10"] > 0.7
    assert selection.best.metrics["ndcg@10"] > selection.trials[0].metrics["ndcg@10"]


def test_choose_needs_a_fitted_candidate():
    with pytest.raises(ValueError, match="no candidate"):
        choose([], "ndcg@10")


def test_without_validation_rows_the_simplest_candidate_is_kept():
    matrix = sp.csr_matrix(np.eye(4, 6, dtype=np.float32))  # one item per user: nothing to hold out
    times = matrix.astype(np.float64)
    selection = select_for_you(matrix, times, candidates=small_candidates())
    assert selection.best.name == "popularity"
    assert all(trial.skipped for trial in selection.trials[1:])
