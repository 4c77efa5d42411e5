"""Fitting any model with the extra inputs its family takes (times, item features)."""

from __future__ import annotations

import scipy.sparse as sp

from .base import Recommender
from .content import ContentSimilarity, Hybrid
from .popularity import Trending
from .sequential import SASRec


def fit_model(
    model: Recommender,
    matrix: sp.csr_matrix,
    *,
    times: sp.csr_matrix | None = None,
    features: sp.csr_matrix | None = None,
) -> Recommender:
    """Fit any model, passing the extra inputs the ones that need them take."""
    if isinstance(model, Trending):
        return model.fit(matrix, times)
    if isinstance(model, SASRec):
        return model.fit(matrix, times, features)
    if isinstance(model, ContentSimilarity | Hybrid):
        return model.fit(matrix, features)
    return model.fit(matrix)
