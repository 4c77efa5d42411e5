"""Frequently bought together: items that share baskets (orders), not merely customers."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..device import dense
from .base import check_matrix
from .neighbours import NeighbourModel, cooccurrence, top_k_table


class BoughtTogether(NeighbourModel):
    """Co-purchase counts corrected for popularity.

    With ``C[i, j]`` the baskets holding both items and ``n[i]`` the baskets holding ``i``::

        score(i → j) = C[i, j] / (n[i]^(1-β) · n[j]^β)

    ``β = 1`` ranks ``j`` by lift (``P(j | i) / P(j)``), ``β = 0`` by confidence (``P(j | i)``,
    which best-sellers dominate), ``β = 0.5`` is cosine. Lift alone overrates pairs seen once, so
    pairs with fewer than ``min_count`` shared baskets are dropped. Fit on an order x item matrix.
    """

    name: ClassVar[str] = "bought_together"

    def __init__(
        self,
        neighbours: int = 50,
        popularity_exponent: float = 0.75,
        min_count: int = 2,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(neighbours, device)
        self.popularity_exponent = popularity_exponent
        self.min_count = min_count

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "popularity_exponent": self.popularity_exponent,
            "min_count": self.min_count,
        }

    def fit(self, baskets: sp.csr_matrix) -> Self:
        self.train = check_matrix(baskets)
        binary = self.train.copy()
        binary.data[:] = 1.0
        counts = cooccurrence(binary)
        basket_counts = torch.from_numpy(counts.diagonal().astype(np.float32)).to(self.device)
        beta = self.popularity_exponent
        column_scale = basket_counts.clamp_min(1.0) ** -beta
        row_scale = basket_counts.clamp_min(1.0) ** (beta - 1.0)

        def rows_of(start: int, stop: int) -> torch.Tensor:
            block = dense(counts[start:stop], self.device)
            block = torch.where(block >= self.min_count, block, torch.zeros_like(block))
            return block * row_scale[start:stop, None] * column_scale[None, :]

        self.similarity = top_k_table(rows_of, self.n_items, self.neighbours)
        return self
