"""Small generated interaction data with known structure."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DAY = 86_400.0


def _matrices(rows, cols, times, shape):
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    stamps = sp.csr_matrix((np.asarray(times, np.float64), (rows, cols)), shape=shape)
    matrix.sort_indices()
    stamps.sort_indices()
    return matrix, stamps


def clustered(
    n_users: int = 200, n_items: int = 60, per_user: int = 10, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Two disjoint taste clusters: the first half of users only take the first half of items.

    Within a cluster items are mildly skewed, so popularity is a weak but non-trivial baseline."""
    rng = np.random.default_rng(seed)
    half_items = n_items // 2
    weights = 1.0 / np.arange(1, half_items + 1) ** 0.5
    weights /= weights.sum()
    rows, cols, times = [], [], []
    for user in range(n_users):
        offset = 0 if user < n_users // 2 else half_items
        items = rng.choice(half_items, size=per_user, replace=False, p=weights) + offset
        rows += [user] * per_user
        cols += items.tolist()
        times += (rng.random(per_user) * 30 * DAY).tolist()
    return _matrices(rows, cols, times, (n_users, n_items))


def popular_world(
    n_users: int = 600, n_items: int = 40, per_user: int = 6, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Everybody draws from the same steep popularity curve, independently: nothing personal to
    learn, so popularity is the optimal ranking."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.2
    weights /= weights.sum()
    rows, cols, times = [], [], []
    for user in range(n_users):
        items = rng.choice(n_items, size=per_user, replace=False, p=weights)
        rows += [user] * per_user
        cols += items.tolist()
        times += (rng.random(per_user) * 30 * DAY).tolist()
    return _matrices(rows, cols, times, (n_users, n_items))


def cluster_of(items: np.ndarray, n_items: int = 60) -> np.ndarray:
    return (np.asarray(items) >= n_items // 2).astype(int)
