import numpy as np
import pytest

from recommendations.engine.data import (
    DEFAULT_KIND_WEIGHTS,
    EventLog,
    MatrixConfig,
    build_interactions,
)
from recommendations.engine.features import item_features
from recommendations.engine.indexmap import IndexMap

DAY = 86_400.0


def cell(interactions, user, item):
    row = interactions.user_map.index_of(user)
    col = interactions.item_map.index_of(item)
    return interactions.matrix[row, col]


def test_kind_weights_and_summing():
    log = EventLog.from_columns(
        ["u", "u", "u", "v"],
        ["a", "a", "b", "a"],
        [0, 1, 2, 3],
        kinds=["view", "purchase", "impression", "add_to_cart"],
    )
    built = build_interactions(log)
    assert cell(built, "u", "a") == DEFAULT_KIND_WEIGHTS["view"] + DEFAULT_KIND_WEIGHTS["purchase"]
    assert "b" not in built.item_map  # impressions weigh nothing
    assert cell(built, "v", "a") == 3.0
    assert built.matrix.dtype == np.float32


def test_max_combination_and_cap():
    log = EventLog.from_columns(["u"] * 3, ["a"] * 3, [0, 1, 2], weights=[1, 5, 3])
    assert cell(build_interactions(log, MatrixConfig(combine="max")), "u", "a") == 5
    assert cell(build_interactions(log, MatrixConfig(max_weight=4)), "u", "a") == 4
    assert cell(build_interactions(log, MatrixConfig(binary=True)), "u", "a") == 1


def test_half_life_decay_relative_to_reference_time():
    log = EventLog.from_columns(["u", "v"], ["a", "a"], [0.0, 7 * DAY])
    built = build_interactions(log, MatrixConfig(half_life_days=7))
    assert cell(built, "u", "a") == pytest.approx(0.5)
    assert cell(built, "v", "a") == pytest.approx(1.0)
    later = build_interactions(log, MatrixConfig(half_life_days=7, reference_time=14 * DAY))
    assert cell(later, "v", "a") == pytest.approx(0.5)


def test_pair_time_first_or_last():
    log = EventLog.from_columns(["u", "u"], ["a", "a"], [5.0, 9.0])
    assert build_interactions(log).times.data.tolist() == [5.0]
    assert build_interactions(log, MatrixConfig(pair_time="last")).times.data.tolist() == [9.0]


def test_minimum_activity_is_a_k_core():
    # w has 2 items, but item c only has w: once c goes, w has 1 item and goes too.
    log = EventLog.from_columns(
        ["u", "u", "v", "v", "w", "w"], ["a", "b", "a", "b", "a", "c"], np.arange(6)
    )
    built = build_interactions(log, MatrixConfig(min_user_items=2, min_item_users=2))
    assert built.user_map.keys == ["u", "v"]
    assert built.item_map.keys == ["a", "b"]
    assert built.matrix.nnz == 4


def test_excluded_users_are_dropped_but_keep_their_index():
    log = EventLog.from_columns(["u", "bot", "v"], ["a", "a", "b"], [0, 1, 2])
    previous = IndexMap(["bot"])
    built = build_interactions(log, user_map=previous, exclude_users={"bot"})
    assert built.user_map.index_of("bot") == 0
    assert built.matrix[0].nnz == 0
    assert built.matrix.shape == (3, 2)
    assert len(previous) == 1  # the caller's map is not modified


def test_new_arrivals_append_and_never_renumber():
    first = build_interactions(EventLog.from_columns(["u", "v"], ["a", "b"], [0, 1]))
    second = build_interactions(
        EventLog.from_columns(["w", "v", "u"], ["c", "a", "b"], [2, 3, 4]),
        user_map=first.user_map,
        item_map=first.item_map,
    )
    assert second.user_map.keys[:2] == first.user_map.keys
    assert second.item_map.keys[:2] == first.item_map.keys
    assert second.shape == (3, 3)
    assert cell(second, "w", "c") == 1


def test_times_share_the_matrix_pattern():
    rng = np.random.default_rng(0)
    log = EventLog.from_columns(
        rng.integers(0, 20, 300), rng.integers(0, 15, 300), rng.random(300) * 1e6
    )
    built = build_interactions(log)
    assert (built.matrix.indices == built.times.indices).all()
    assert (built.matrix.indptr == built.times.indptr).all()
    rows, _, _, times = built.pairs()
    assert len(rows) == len(times) == built.matrix.nnz


def test_mismatched_columns_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        EventLog(np.array(["u"]), np.array(["a", "b"]), np.zeros(1), np.ones(1))


def test_item_features_are_unit_rows_and_group_alike_items():
    features = item_features(
        ["red tea mug", "blue tea mug", "garden chair", "folding garden chair"],
        descriptions=["ceramic", "ceramic", None, "wood"],
        categories=["kitchen", "kitchen", "garden", None],
        prices=[4.0, 4.5, 30.0, None],
    )
    assert features.shape[0] == 4
    norms = np.sqrt(np.asarray(features.multiply(features).sum(1)).ravel())
    assert np.allclose(norms, 1.0, atol=1e-5)
    similarity = (features @ features.T).toarray()
    assert similarity[0, 1] > similarity[0, 2]
    assert similarity[2, 3] > similarity[2, 0]


def test_item_features_without_text():
    features = item_features(["", ""], categories=["a", "b"])
    assert features.shape == (2, 2)
    with pytest.raises(ValueError, match="one entry per title"):
        item_features(["x"], prices=[1.0, 2.0])
