"""Item-item collaborative filtering: items are similar when the same users take both."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..device import dense
from .base import check_matrix
from .neighbours import NeighbourModel, cooccurrence, top_k_table


class ItemKNN(NeighbourModel):
    """Cosine (default) or raw co-occurrence between item columns, top ``neighbours`` kept.

    ``shrink`` damps similarities resting on few common users:
    ``sim = XᵢᵀXⱼ / (‖Xᵢ‖‖Xⱼ‖ + shrink)``. Raw co-occurrence favours best-sellers; it is there
    for comparison and for tiny catalogues.
    """

    name: ClassVar[str] = "itemknn"

    def __init__(
        self,
        neighbours: int = 100,
        shrink: float = 0.0,
        similarity: Literal["cosine", "cooccurrence"] = "cosine",
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(neighbours, device)
        self.shrink = shrink
        self.similarity_kind = similarity

    def params(self) -> dict[str, Any]:
        return {**super().params(), "shrink": self.shrink, "similarity": self.similarity_kind}

    def fit(self, matrix: sp.csr_matrix) -> Self:
        self.train = check_matrix(matrix)
        gram = cooccurrence(self.train)
        norms = torch.from_numpy(np.sqrt(gram.diagonal()).astype(np.float32)).to(self.device)

        def rows_of(start: int, stop: int) -> torch.Tensor:
            block = dense(gram[start:stop], self.device)
            if self.similarity_kind == "cooccurrence":
                return block
            return block / (norms[start:stop, None] * norms[None, :] + self.shrink + 1e-12)

        self.similarity = top_k_table(rows_of, self.n_items, self.neighbours)
        return self
