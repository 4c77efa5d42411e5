"""Content-based and hybrid item similarity: neighbours for items nobody has interacted with yet."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..device import dense
from .base import check_matrix
from .itemknn import ItemKNN
from .neighbours import NeighbourModel, top_k_table


class ContentSimilarity(NeighbourModel):
    """Cosine similarity of item feature rows (see :func:`~recommendations.engine.features.item_features`)."""

    name: ClassVar[str] = "content"

    def fit(self, matrix: sp.csr_matrix, features: sp.csr_matrix | None = None) -> Self:
        if features is None:
            raise ValueError(
                "ContentSimilarity needs item features (engine.features.item_features)"
            )
        self.train = check_matrix(matrix)
        self.similarity = content_table(features, self.neighbours, self.device)
        if self.similarity.shape[0] != self.n_items:
            raise ValueError("features must have one row per item column of the matrix")
        return self


class Hybrid(NeighbourModel):
    """``(1 - w) · item-kNN cosine + w · content cosine``, top ``neighbours`` kept.

    Both parts are cosines in [0, 1], so the blend is on one scale. Items without interactions have
    no collaborative row and fall back to their content neighbours; they also become reachable as
    neighbours of others through content.
    """

    name: ClassVar[str] = "hybrid"

    def __init__(
        self,
        neighbours: int = 100,
        content_weight: float = 0.3,
        shrink: float = 0.0,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(neighbours, device)
        self.content_weight = content_weight
        self.shrink = shrink

    def params(self) -> dict[str, Any]:
        return {**super().params(), "content_weight": self.content_weight, "shrink": self.shrink}

    def fit(self, matrix: sp.csr_matrix, features: sp.csr_matrix | None = None) -> Self:
        if features is None:
            raise ValueError("Hybrid needs item features (engine.features.item_features)")
        self.train = check_matrix(matrix)
        collaborative = ItemKNN(self.neighbours, self.shrink, device=self.device).fit(self.train)
        content = content_table(features, self.neighbours, self.device)
        blend = (
            (1.0 - self.content_weight) * collaborative._table() + self.content_weight * content
        ).tocsr()
        self.similarity = top_k_table(
            lambda start, stop: dense(blend[start:stop], self.device),
            self.n_items,
            self.neighbours,
        )
        return self


def content_table(features: sp.csr_matrix, k: int, device: torch.device) -> sp.csr_matrix:
    """Top ``k`` cosine neighbours per row of an L2-normalised feature matrix."""
    features = sp.csr_matrix(features, dtype=np.float32)
    transposed = features.T.tocsc()
    return top_k_table(
        lambda start, stop: dense(features[start:stop] @ transposed, device),
        features.shape[0],
        k,
    )
