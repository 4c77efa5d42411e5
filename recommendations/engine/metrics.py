"""Top-n ranking metrics, vectorised over users.

With one held-out item per user (leave-last-out) HR@k and Recall@k coincide; Recall@k divides
hits by ``min(|relevant|, k)`` so that a perfect list always scores 1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hits(top: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Boolean ``rows x n``: is ``top[r, j]`` among row ``r``'s relevant items?"""
    relevant = sp.csr_matrix(relevant)
    n_items = relevant.shape[1]
    rows = np.repeat(np.arange(relevant.shape[0], dtype=np.int64), np.diff(relevant.indptr))
    relevant_codes = rows * n_items + relevant.indices
    top_codes = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_items + top
    # A short list is padded with -1, whose code would be the previous row's last item.
    return np.isin(top_codes, relevant_codes) & (top >= 0)


def per_row_metrics(top: np.ndarray, relevant: sp.csr_matrix) -> dict[str, np.ndarray]:
    """HR@10, Recall@20 and NDCG@10 of each row (``top`` needs at least 20 columns for
    Recall@20; shorter lists are scored as they are)."""
    hit = hits(top, relevant)
    n_relevant = np.diff(sp.csr_matrix(relevant).indptr)
    discounts = 1.0 / np.log2(np.arange(2, 12))
    depth = min(10, hit.shape[1])
    dcg = (hit[:, :depth] * discounts[:depth]).sum(1)
    ideal = np.cumsum(discounts)[np.clip(np.minimum(n_relevant, 10) - 1, 0, None)]
    return {
        "hr@10": hit[:, :10].any(1).astype(np.float64),
        "recall@20": hit[:, :20].sum(1) / np.maximum(np.minimum(n_relevant, 20), 1),
        "ndcg@10": np.where(n_relevant > 0, dcg / ideal, 0.0),
    }


def ranking_metrics(top: np.ndarray, relevant: sp.csr_matrix) -> dict[str, float]:
    """Means of :func:`per_row_metrics` over rows with at least one relevant item."""
    scored = np.diff(sp.csr_matrix(relevant).indptr) > 0
    per_row = per_row_metrics(top[scored], sp.csr_matrix(relevant)[scored])
    return {name: float(values.mean()) if len(values) else 0.0 for name, values in per_row.items()}


def coverage(top: np.ndarray, n_items: int, k: int = 10) -> float:
    """Share of the catalogue that appears in at least one top-``k`` list."""
    if n_items == 0:
        return 0.0
    return len(np.unique(top[:, :k])) / n_items


def intra_list_diversity(top: np.ndarray, features: sp.csr_matrix, k: int = 10) -> float:
    """Mean over lists of the average pairwise cosine distance between the top-``k`` items.

    With unit-norm feature rows, the pairwise similarities of a list sum to
    ``‖Σ f‖² - Σ ‖f‖²``, so no pairs are ever enumerated.
    """
    top = top[:, :k]
    n_lists, length = top.shape
    if length < 2 or n_lists == 0:
        return 0.0
    features = sp.csr_matrix(features, dtype=np.float64)
    membership = sp.csr_matrix(
        (np.ones(top.size), (np.repeat(np.arange(n_lists), length), top.ravel())),
        shape=(n_lists, features.shape[0]),
    )
    summed = membership @ features
    squared_sum = np.asarray(summed.multiply(summed).sum(1)).ravel()
    row_norms = np.asarray(features.multiply(features).sum(1)).ravel()
    self_similarity = row_norms[top].sum(1)
    mean_similarity = (squared_sum - self_similarity) / (length * (length - 1))
    return float(np.mean(1.0 - mean_similarity))
