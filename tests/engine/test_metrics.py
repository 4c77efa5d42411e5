import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.metrics import (
    coverage,
    hits,
    intra_list_diversity,
    per_row_metrics,
    ranking_metrics,
)
from recommendations.engine.splits import leave_last_out, time_split


def relevant(rows: list[list[int]], n_items: int = 30) -> sp.csr_matrix:
    row = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    col = np.concatenate([np.asarray(r, dtype=int) for r in rows]) if row.size else []
    return sp.csr_matrix((np.ones(len(row)), (row, col)), shape=(len(rows), n_items))


def test_single_relevant_item_by_hand():
    top = np.array([np.r_[3, 1, np.arange(4, 22)], np.arange(10, 30), np.arange(20)])
    rel = relevant([[1], [25], [29]])
    metrics = per_row_metrics(top, rel)
    # row 0: hit at rank 2 -> 1/log2(3); row 1: hit at rank 16, outside the top 10; row 2: none
    assert metrics["hr@10"].tolist() == [1, 0, 0]
    assert metrics["recall@20"].tolist() == [1, 1, 0]
    assert metrics["ndcg@10"] == pytest.approx([1 / np.log2(3), 0, 0])


def test_several_relevant_items_by_hand():
    top = np.array([np.r_[1, 0, 5, np.arange(6, 23)]])
    metrics = per_row_metrics(top, relevant([[1, 5, 28]]))
    dcg = 1 + 1 / np.log2(4)
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert metrics["ndcg@10"][0] == pytest.approx(dcg / ideal)
    assert metrics["recall@20"][0] == pytest.approx(2 / 3)


def test_ranking_metrics_average_rows_with_relevant_items_only():
    top = np.array([[1, 2], [1, 2]])
    assert ranking_metrics(top, relevant([[1], []]))["hr@10"] == 1.0


def test_coverage():
    assert coverage(np.array([[0, 1], [1, 2]]), n_items=8) == pytest.approx(3 / 8)


def test_intra_list_diversity_by_hand():
    features = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]]))
    assert intra_list_diversity(np.array([[0, 1]]), features) == pytest.approx(1.0)
    assert intra_list_diversity(np.array([[0, 2]]), features) == pytest.approx(0.0)
    # pairs (0,1): 1, (0,3): 0.4, (1,3): 0.2 -> mean distance 1.6 / 3
    assert intra_list_diversity(np.array([[0, 1, 3]]), features) == pytest.approx(1.6 / 3)


def pairs(rows, cols, times, shape=(3, 6)):
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    stamps = sp.csr_matrix((np.asarray(times, float), (rows, cols)), shape=shape)
    return matrix, stamps


def test_leave_last_out_holds_out_the_latest_item_of_users_with_three():
    matrix, times = pairs(
        [0, 0, 0, 1, 1, 2, 2, 2], [0, 1, 2, 0, 3, 3, 4, 5], [1, 9, 5, 1, 2, 7, 3, 8]
    )
    split = leave_last_out(matrix, times)
    assert split.users.tolist() == [0, 2]
    assert split.test[0].indices.tolist() == [1]
    assert split.test[2].indices.tolist() == [5]
    assert split.train[1].nnz == 2  # fewer than three: training only
    assert split.train.nnz + split.test.nnz == matrix.nnz
    assert split.train_times[0].data.max() == 5


def test_leave_last_out_breaks_ties_with_a_seeded_shuffle():
    matrix, times = pairs([0] * 6, range(6), [1] * 6, shape=(1, 6))
    picks = {leave_last_out(matrix, times, seed=s).test.indices[0] for s in range(20)}
    assert len(picks) > 1
    assert (
        leave_last_out(matrix, times, seed=3).test.indices[0]
        == leave_last_out(matrix, times, seed=3).test.indices[0]
    )


def test_time_split_drops_test_cells_of_users_without_history():
    matrix, times = pairs([0, 0, 1, 2, 2], [0, 1, 2, 3, 4], [1, 10, 10, 2, 11])
    split = time_split(matrix, times, cutoff=10)
    assert split.users.tolist() == [0, 2]
    assert split.train.nnz == 2
    assert split.test.nnz == 2


def test_a_padded_short_list_never_hits_the_previous_rows_last_item():
    relevant = sp.csr_matrix(np.array([[0, 0, 1], [1, 0, 0]], dtype=np.float32))
    top = np.array([[2, -1], [0, -1]])
    assert hits(top, relevant).tolist() == [[True, False], [True, False]]
    top = np.array([[0, 1], [-1, -1]])  # row 1's padding would read as row 0's item 2
    assert not hits(top, relevant)[1].any()
