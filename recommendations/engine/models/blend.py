"""A blend of models: a weighted sum of each part's scores, standardised per user.

The families score on different scales (EASE's regression outputs, the sequential model's
logits), so each part's row of scores is standardised over the catalogue (mean 0, deviation 1)
before the weights apply: a weight then says how much a part counts, whatever its scale. The
weights are chosen on a validation split (:func:`~recommendations.engine.selection.select_blend`):
a co-occurrence model and a sequential one see different things (which items go together, which
comes next), and on Online Retail their blend beats either (docs/engine.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from .base import Recommender, check_matrix
from .fitting import fit_model


def standardised(scores: torch.Tensor) -> torch.Tensor:
    """Each row minus its mean, over its standard deviation (a constant row becomes zeros)."""
    scores = scores.float()
    spread = scores.std(dim=1, keepdim=True)
    return (scores - scores.mean(dim=1, keepdim=True)) / torch.where(spread > 0, spread, 1.0)


class Blend(Recommender):
    """``Σ weight · standardised(part scores)`` over fitted or unfitted ``parts``."""

    name: ClassVar[str] = "blend"

    def __init__(
        self,
        parts: Sequence[Recommender],
        weights: Sequence[float],
        device: str | torch.device = "auto",
    ) -> None:
        if len(parts) != len(weights) or not parts:
            raise ValueError("a blend needs one weight per part, and at least one part")
        super().__init__(device)
        self.parts = list(parts)
        self.weights = [float(weight) for weight in weights]

    def params(self) -> dict[str, Any]:
        return {
            "parts": [part.name for part in self.parts],
            "weights": self.weights,
            "part_params": [part.params() for part in self.parts],
        }

    def fit(
        self,
        matrix: sp.csr_matrix,
        times: sp.csr_matrix | None = None,
        features: sp.csr_matrix | None = None,
    ) -> Self:
        """Fit every part on ``matrix`` (with the inputs each family takes)."""
        self.train = check_matrix(matrix)
        for part in self.parts:
            fit_model(part, self.train, times=times, features=features)
        return self

    def with_fitted(self, matrix: sp.csr_matrix) -> Self:
        """Use parts that are already fitted on ``matrix`` (a blend whose weights are tried in
        turn on one fit, or built from models fitted elsewhere)."""
        self.train = check_matrix(matrix)
        return self

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        return self._combine([part.score(history) for part in self.parts])

    def _score_users(self, users: np.ndarray, history: sp.csr_matrix) -> torch.Tensor:
        return self._combine([part._score_users(users, history) for part in self.parts])

    def _combine(self, blocks: list[torch.Tensor]) -> torch.Tensor:
        total = torch.zeros_like(blocks[0], dtype=torch.float32, device=self.device)
        for weight, block in zip(self.weights, blocks, strict=True):
            if weight:
                total += weight * standardised(block.to(self.device))
        return total
