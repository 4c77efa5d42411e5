"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019).

A closed-form item x item linear model: ``B = I - P / diag(P)`` with ``P = (XᵀX + λI)⁻¹`` and a
zero diagonal. Strong on retail data and needs one matrix inverse, but it is dense in items:
memory grows with items² and time with items³, hence :data:`MAX_ITEMS`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact
from ..device import dense, to_torch_csr
from .base import Recommender, check_matrix
from .neighbours import cooccurrence, table_artifact, top_k_table

#: Largest catalogue EASE accepts per device type. At 20k items each items x items float32 matrix
#: takes 1.6 GB (about three are alive at once) and the n³ inverse is estimated at about a minute
#: on 2 CPU cores; a 50k-item GPU fit needs about 30 GB of device memory.
MAX_ITEMS = {"cpu": 20_000, "cuda": 50_000}


class CatalogueTooLarge(ValueError):
    """The catalogue exceeds what a dense items x items model can hold."""


class EASE(Recommender):
    """Scores are ``history @ B``. ``regularization`` is λ; larger values smooth towards popular
    items. The artifact keeps each item's ``artifact_neighbours`` weights of largest magnitude
    (on Online Retail, 200 of 3,659 score as well as the dense matrix)."""

    name: ClassVar[str] = "ease"

    def __init__(
        self,
        regularization: float = 250.0,
        artifact_neighbours: int = 200,
        max_items: int | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(device)
        self.regularization = regularization
        self.artifact_neighbours = artifact_neighbours
        self.max_items = max_items if max_items is not None else MAX_ITEMS[self.device.type]
        self.weights: torch.Tensor | None = None

    def params(self) -> dict[str, Any]:
        return {"regularization": self.regularization}

    def fit(self, matrix: sp.csr_matrix) -> Self:
        matrix = check_matrix(matrix)
        n_items = matrix.shape[1]
        if n_items > self.max_items:
            raise CatalogueTooLarge(
                f"EASE supports at most {self.max_items} items on {self.device.type}; "
                f"this catalogue has {n_items}"
            )
        self.train = matrix
        gram = dense(cooccurrence(matrix), self.device)
        gram.diagonal().add_(self.regularization)
        inverse = torch.cholesky_inverse(torch.linalg.cholesky(gram))
        del gram
        weights = inverse / -inverse.diagonal()[None, :]
        weights.diagonal().zero_()
        self.weights = weights
        return self

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        return torch.sparse.mm(to_torch_csr(history, self.device), self._weights())

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        return self._weights()[torch.from_numpy(np.asarray(items)).to(self.device)]

    def to_artifact(self) -> Artifact:
        weights = self._weights()
        table = top_k_table(
            lambda start, stop: weights[start:stop].clone(),
            weights.shape[0],
            self.artifact_neighbours,
            by_magnitude=True,
        )
        return table_artifact(
            self.name, table, {**self.params(), "neighbours": self.artifact_neighbours}
        )

    def _weights(self) -> torch.Tensor:
        if self.weights is None:
            raise RuntimeError("EASE is not fitted")
        return self.weights
