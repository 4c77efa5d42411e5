import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.engine.artifacts import load_scorer
from recommendations.engine.models import ALS

from .synthetic import clustered


@pytest.fixture(scope="module")
def matrix():
    return clustered(n_users=200, n_items=60, per_user=12)[0]


@pytest.fixture(scope="module")
def model(matrix):
    return ALS(factors=16, regularization=1.0, alpha=5.0, iterations=15).fit(matrix)


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_fold_in_matches_the_fitted_user_vector(model, matrix):
    factors = model.user_factors.numpy()
    for user in range(0, 200, 20):
        row = matrix[user]
        vector = model.fold_in(row.indices, row.data)
        assert cosine(vector, factors[user]) > 0.9
        folded = np.argsort(-(model.item_factors.numpy() @ vector))
        fitted = np.argsort(-(model.item_factors.numpy() @ factors[user]))
        seen = set(row.indices)
        folded = [i for i in folded if i not in seen][:5]
        fitted = [i for i in fitted if i not in seen][:5]
        assert len(set(folded) & set(fitted)) >= 4


def test_fold_in_of_an_empty_history_is_zero(model):
    assert not model.fold_in([], []).any()


def test_recommend_history_uses_fold_in(model, matrix):
    from_history, _ = model.recommend_history(matrix[:10], n=5)
    from_users, _ = model.recommend(np.arange(10), n=5)
    overlap = [len(set(a) & set(b)) for a, b in zip(from_history, from_users, strict=True)]
    assert np.mean(overlap) >= 4


def test_warm_start_on_the_same_data_never_increases_the_loss(model, matrix):
    before = model.loss()
    again = ALS(factors=16, regularization=1.0, alpha=5.0).fit(
        matrix, warm_start=model, iterations=1
    )
    assert again.loss() <= before * (1 + 1e-4)


def test_warm_start_grows_with_new_users_and_items(matrix):
    old = matrix[:150, :50]
    first = ALS(factors=16, regularization=1.0, alpha=5.0, iterations=10).fit(old)
    warm = ALS(factors=16, regularization=1.0, alpha=5.0).fit(
        matrix, warm_start=first.to_artifact(), iterations=2
    )
    cold = ALS(factors=16, regularization=1.0, alpha=5.0).fit(matrix, iterations=2)
    assert warm.user_factors.shape == (200, 16) and warm.item_factors.shape == (60, 16)
    assert warm.loss() < cold.loss()
    kept = cosine(warm.item_factors[:50].numpy().ravel(), first.item_factors.numpy().ravel())
    assert kept > 0.9  # old rows continue from where they were


def test_warm_start_refuses_shrinking_or_resized_factors(model, matrix):
    with pytest.raises(ValueError, match="only grow"):
        ALS(factors=16).fit(matrix[:100], warm_start=model)
    with pytest.raises(ValueError, match="factors"):
        ALS(factors=8).fit(matrix, warm_start=model)


def test_loss_matches_a_dense_reference(model, matrix):
    users, items = model.user_factors.numpy(), model.item_factors.numpy()
    dense = matrix.toarray()
    confidence = 1 + model.alpha * dense
    preference = (dense > 0).astype(float)
    reference = (confidence * (preference - users @ items.T) ** 2).sum() + model.regularization * (
        (users**2).sum() + (items**2).sum()
    )
    assert model.loss() == pytest.approx(reference, rel=1e-4)


def test_artifact_fold_in_equals_model_fold_in(model, matrix):
    scorer = load_scorer(model.to_artifact(include_users=False))
    row = matrix[3]
    assert np.allclose(scorer.fold_in(row.indices, row.data), model.fold_in(row.indices, row.data))
    assert "user_factors" not in model.to_artifact(include_users=False).arrays


def test_fit_with_explicit_threads(matrix):
    import torch

    before = torch.get_num_threads()
    ALS(factors=4, iterations=1, num_threads=1).fit(sp.csr_matrix(matrix))
    assert torch.get_num_threads() == before


def test_restored_model_serves_visitors(model, matrix):
    restored = ALS.from_artifact(model.to_artifact())
    top, _ = restored.recommend_history(matrix[:3], n=5)
    expected, _ = model.recommend_history(matrix[:3], n=5)
    assert (top == expected).all()
