import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recommendations.engine.features import item_features
from recommendations.engine.models import (
    ALS,
    EASE,
    BoughtTogether,
    CatalogueTooLarge,
    ContentSimilarity,
    Hybrid,
    ItemKNN,
    Popularity,
    Trending,
)

from .synthetic import DAY, cluster_of, clustered

N_ITEMS = 60


@pytest.fixture(scope="module")
def data():
    return clustered(n_items=N_ITEMS)


def in_cluster_share(model, matrix, n=5):
    users = np.arange(matrix.shape[0])
    top, _ = model.recommend(users, n=n)
    user_cluster = (users >= matrix.shape[0] // 2).astype(int)
    return (cluster_of(top, N_ITEMS) == user_cluster[:, None]).mean()


@pytest.mark.parametrize(
    "make",
    [
        lambda: ItemKNN(neighbours=20),
        lambda: EASE(regularization=10.0),
        lambda: ALS(factors=8, regularization=0.1, alpha=5.0, iterations=10),
    ],
    ids=["itemknn", "ease", "als"],
)
def test_personal_models_stay_in_cluster(data, make):
    matrix, _ = data
    model = make().fit(matrix)
    assert in_cluster_share(model, matrix) > 0.97


def test_recommend_excludes_seen_items(data):
    matrix, _ = data
    model = EASE(regularization=10.0).fit(matrix)
    top, scores = model.recommend([0, 1], n=10)
    assert top.shape == scores.shape == (2, 10)
    for row, user in enumerate([0, 1]):
        assert not set(top[row]) & set(matrix[user].indices)
    assert (np.diff(scores, axis=1) <= 0).all()
    top_all, _ = model.recommend([0], n=10, exclude_seen=False)
    assert set(top_all[0]) & set(matrix[0].indices)


def test_popularity_ranks_by_user_count():
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 5]], dtype=np.float32))
    top, scores = Popularity().fit(matrix).recommend([0], n=3, exclude_seen=False)
    assert top[0].tolist() == [0, 1, 2]
    assert scores[0].tolist() == [3, 2, 1]
    weighted, _ = Popularity(weighted=True).fit(matrix).recommend([0], n=1, exclude_seen=False)
    assert weighted[0].tolist() == [2]


def test_trending_prefers_recent_interest():
    matrix = sp.csr_matrix(np.ones((4, 2), dtype=np.float32))
    matrix[:, 0] = 0
    matrix[0, 0] = matrix[1, 0] = 1  # item 0: two users, recent; item 1: four users, old
    matrix = sp.csr_matrix(matrix)
    matrix.eliminate_zeros()
    times = matrix.copy().astype(np.float64)
    times.data[:] = 0.0
    times[0, 0] = times[1, 0] = 60 * DAY
    times = sp.csr_matrix(times)
    trending = Trending(half_life_days=7).fit(matrix, times)
    assert trending.recommend([2], n=1, exclude_seen=False)[0][0, 0] == 0
    assert Popularity().fit(matrix).recommend([2], n=1, exclude_seen=False)[0][0, 0] == 1
    with pytest.raises(ValueError, match="times"):
        Trending().fit(matrix)


def test_ease_matches_numpy_reference(data):
    matrix, _ = data
    lam = 25.0
    dense = matrix.toarray().astype(np.float64)
    inverse = np.linalg.inv(dense.T @ dense + lam * np.eye(dense.shape[1]))
    reference = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(reference, 0.0)
    model = EASE(regularization=lam, device="cpu").fit(matrix)
    assert np.allclose(model.weights.numpy(), reference, atol=1e-5)
    scores = model.score(matrix[:5]).numpy()
    assert np.allclose(scores, dense[:5] @ reference, atol=1e-4)


def test_ease_refuses_oversized_catalogues(data):
    matrix, _ = data
    with pytest.raises(CatalogueTooLarge, match="at most 10 items"):
        EASE(max_items=10).fit(matrix)


def test_item_neighbours_stay_in_cluster(data):
    matrix, _ = data
    for model in (ItemKNN(neighbours=10).fit(matrix), EASE(10.0).fit(matrix)):
        neighbours, _ = model.similar_items([0, 45], n=5)
        assert (cluster_of(neighbours[0], N_ITEMS) == 0).all()
        assert (cluster_of(neighbours[1], N_ITEMS) == 1).all()
        assert 0 not in neighbours[0] and 45 not in neighbours[1]


def test_bought_together_lift_beats_the_best_seller():
    rng = np.random.default_rng(0)
    baskets = []
    for _ in range(400):
        basket = {9}  # the best-seller is in every basket
        if rng.random() < 0.2:
            basket.add(0)
            if rng.random() < 0.6:
                basket.add(1)  # 1 often comes with 0, and rarely without it
        basket |= set(rng.choice(np.arange(2, 9), size=2, replace=False).tolist())
        baskets.append(sorted(basket))
    rows = np.repeat(np.arange(len(baskets)), [len(b) for b in baskets])
    matrix = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, np.concatenate(baskets))), shape=(400, 10)
    )
    lifted = BoughtTogether(popularity_exponent=1.0).fit(matrix)
    assert lifted.similar_items([0], n=1)[0][0, 0] == 1
    confidence = BoughtTogether(popularity_exponent=0.0).fit(matrix)
    assert confidence.similar_items([0], n=1)[0][0, 0] == 9


def test_bought_together_drops_rare_pairs():
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 1], [1, 0, 1]], dtype=np.float32))
    model = BoughtTogether(min_count=2).fit(matrix)
    assert model.similarity[0].indices.tolist() == [2]


def catalogue():
    titles = [f"red mug {i}" for i in range(4)] + [f"garden chair {i}" for i in range(4)]
    return item_features(titles, categories=["kitchen"] * 4 + ["garden"] * 4)


def test_content_similarity_covers_cold_items():
    features = catalogue()
    matrix = sp.csr_matrix((3, 8), dtype=np.float32)  # nobody has interacted with anything
    model = ContentSimilarity(neighbours=3).fit(matrix, features)
    neighbours, _ = model.similar_items([0, 6], n=3)
    assert set(neighbours[0]) <= {1, 2, 3}
    assert set(neighbours[1]) <= {4, 5, 7}


def test_hybrid_blends_and_falls_back_to_content():
    features = catalogue()
    # items 0..3 and 4 are bought together by users; items 5..7 are cold.
    matrix = sp.csr_matrix(
        np.array([[1, 1, 0, 0, 1, 0, 0, 0], [1, 1, 0, 0, 1, 0, 0, 0]], dtype=np.float32)
    )
    model = Hybrid(neighbours=3, content_weight=0.3).fit(matrix, features)
    assert model.similar_items([0], n=1)[0][0, 0] == 1  # strong in both
    assert 4 in model.similar_items([0], n=3)[0][0]  # collaborative signal crosses categories
    assert set(model.similar_items([6], n=3)[0][0]) <= {4, 5, 7}  # cold: content only


def test_recommend_history_serves_unknown_visitors(data):
    matrix, _ = data
    model = ItemKNN(neighbours=20).fit(matrix)
    visitor = sp.csr_matrix(([1.0, 1.0], ([0, 0], [40, 41])), shape=(1, N_ITEMS))
    top, _ = model.recommend_history(visitor, n=5)
    assert (cluster_of(top, N_ITEMS) == 1).all()
    assert not {40, 41} & set(top[0])


def test_device_auto_is_cpu_here():
    assert ItemKNN().device.type == ("cuda" if torch.cuda.is_available() else "cpu")
