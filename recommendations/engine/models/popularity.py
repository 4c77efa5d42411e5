"""Non-personal baselines: what most people take, and what is taking off now.

They are the floor every personal model must beat, the fallback when a model is missing, and
sometimes simply the best choice (small stores, one-off buyers).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact
from ..data import SECONDS_PER_DAY
from .base import Recommender, check_matrix


class Popularity(Recommender):
    """Items ranked by how many users interacted with them (or by summed weight)."""

    name: ClassVar[str] = "popularity"

    def __init__(self, weighted: bool = False, device: str | torch.device = "auto") -> None:
        super().__init__(device)
        self.weighted = weighted
        self.item_scores: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {"weighted": self.weighted}

    def fit(self, matrix: sp.csr_matrix) -> Self:
        self.train = check_matrix(matrix)
        counted = self.train if self.weighted else (self.train > 0)
        self.item_scores = np.asarray(counted.sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        return self._scores().expand(history.shape[0], -1).clone()

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        return self._scores().expand(len(items), -1).clone()

    def to_artifact(self) -> Artifact:
        return Artifact(self.name, "scores", {"scores": self._item_scores()}, self.params())

    def _item_scores(self) -> np.ndarray:
        if self.item_scores is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.item_scores

    def _scores(self) -> torch.Tensor:
        return torch.from_numpy(self._item_scores()).to(self.device)[None, :]


class Trending(Popularity):
    """Popularity where an interaction's weight halves every ``half_life_days``.

    Decay needs each cell's time: pass ``times`` (the same pattern as the matrix, Unix seconds,
    as in :class:`~recommendations.engine.data.Interactions`). The reference time defaults to the
    newest cell, so a replay of old data trends the way it did then.
    """

    name: ClassVar[str] = "trending"

    def __init__(
        self,
        half_life_days: float = 7.0,
        reference_time: float | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(weighted=True, device=device)
        self.half_life_days = half_life_days
        self.reference_time = reference_time

    def params(self) -> dict[str, Any]:
        return {"half_life_days": self.half_life_days, "reference_time": self.reference_time}

    def fit(self, matrix: sp.csr_matrix, times: sp.csr_matrix | None = None) -> Self:
        self.train = check_matrix(matrix)
        if times is None:
            raise ValueError("Trending needs the cell times (an Interactions.times matrix)")
        times = sp.csr_matrix(times, dtype=np.float64)
        times.sort_indices()
        if times.nnz != self.train.nnz:
            raise ValueError("times must have the same sparsity pattern as the matrix")
        reference = self.reference_time
        if reference is None:
            reference = float(times.data.max()) if times.nnz else 0.0
        age_days = np.maximum(reference - times.data, 0.0) / SECONDS_PER_DAY
        decayed = self.train.copy()
        decayed.data = (decayed.data * np.exp2(-age_days / self.half_life_days)).astype(np.float32)
        self.item_scores = np.asarray(decayed.sum(axis=0), dtype=np.float32).ravel()
        return self
