"""Fitting any model with the extra inputs its family takes (times, item features, a warm start)."""

from __future__ import annotations

import scipy.sparse as sp

from ..artifacts import Artifact
from .als import ALS
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
    warm_start: Artifact | None = None,
) -> Recommender:
    """Fit any model, passing the extra inputs the ones that need them take. ``warm_start``, an
    artifact of the same family (and, for ALS, the same factors), continues from it."""
    from .blend import Blend, sequential_artifact  # a blend fits its parts through this function

    if isinstance(model, Trending):
        return model.fit(matrix, times)
    if isinstance(model, SASRec):
        previous = sequential_artifact(warm_start) if warm_start is not None else None
        return model.fit(matrix, times, features, warm_start=previous)
    if isinstance(model, Blend):
        return model.fit(matrix, times, features, warm_start=warm_start)
    if (
        isinstance(model, ALS)
        and warm_start is not None
        and warm_start.model == model.name
        and warm_start.params.get("factors") == model.factors
    ):
        return model.fit(matrix, warm_start=warm_start)
    if isinstance(model, ContentSimilarity | Hybrid):
        return model.fit(matrix, features)
    return model.fit(matrix)
