"""What every model shares: fitting on a user x item matrix, batched top-n with exclusions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact
from ..device import resolve_device

#: Users scored per batch: bounds the dense batch x items score block on the device.
SCORE_BATCH = 2048


class Recommender:
    """Base class. Subclasses implement :meth:`fit`, :meth:`score` and :meth:`to_artifact`.

    ``fit`` keeps the training matrix so that ``recommend(users)`` can exclude what each user has
    already seen; ``recommend_history`` serves visitors the model has never seen.
    """

    name: ClassVar[str] = "base"

    def __init__(self, device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self.train: sp.csr_matrix | None = None

    @property
    def n_items(self) -> int:
        return self._require_train().shape[1]

    def params(self) -> dict[str, Any]:
        """Hyper-parameters, JSON-able (recorded with metrics and artifacts)."""
        return {}

    def fit(self, matrix: sp.csr_matrix) -> Self:
        raise NotImplementedError

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        """Dense scores (``history.shape[0]`` x items) on the model's device."""
        raise NotImplementedError

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        """Dense scores of every item as a neighbour of each of ``items``."""
        raise NotImplementedError

    def to_artifact(self) -> Artifact:
        raise NotImplementedError

    def similar_items(self, items: Any, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` neighbours (indices, scores; ``len(items)`` x ``n``) of each item, never the
        item itself."""
        items = np.asarray(items, dtype=np.int64).ravel()
        itself = sp.csr_matrix(
            (np.ones(len(items), np.float32), (np.arange(len(items)), items)),
            shape=(len(items), self.n_items),
        )
        return self._top_n_batches(
            len(items), lambda s: self.similar_scores(items[s]), lambda s: itself[s], n
        )

    def recommend(
        self, users: Any, n: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` items (indices, scores; ``len(users)`` x ``n``) for rows of the fit matrix.

        Excluded or unreachable items score ``-inf`` and sort last.
        """
        users = np.asarray(users, dtype=np.int64).ravel()
        train = self._require_train()
        return self._top_n_batches(
            len(users),
            lambda s: self._score_users(users[s], train[users[s]]),
            lambda s: train[users[s]] if exclude_seen else None,
            n,
        )

    def recommend_history(
        self, history: sp.csr_matrix, n: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` items for visitors given as rows of a visitor x items matrix."""
        history = sp.csr_matrix(history, dtype=np.float32)
        return self._top_n_batches(
            history.shape[0],
            lambda s: self.score(history[s]),
            lambda s: history[s] if exclude_seen else None,
            n,
        )

    def _score_users(self, users: np.ndarray, history: sp.csr_matrix) -> torch.Tensor:
        return self.score(history)

    def _top_n_batches(
        self,
        count: int,
        scores_of: Callable[[slice], torch.Tensor],
        exclude_of: Callable[[slice], sp.csr_matrix | None],
        n: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.n_items)
        indices = np.empty((count, n), dtype=np.int64)
        values = np.empty((count, n), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, count, SCORE_BATCH):
                rows = slice(start, min(start + SCORE_BATCH, count))
                top_indices, top_values = top_n(scores_of(rows), n, exclude_of(rows))
                indices[rows], values[rows] = top_indices, top_values
        return indices, values

    def _require_train(self) -> sp.csr_matrix:
        if self.train is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.train


def top_n(
    scores: torch.Tensor, n: int, exclude: sp.csr_matrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top ``n`` of a dense score block, with ``exclude``'s cells set to ``-inf``."""
    scores = scores.float()
    if exclude is not None and exclude.nnz:
        rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
        scores[
            torch.from_numpy(rows).to(scores.device),
            torch.from_numpy(exclude.indices.astype(np.int64)).to(scores.device),
        ] = -torch.inf
    values, indices = torch.topk(scores, min(n, scores.shape[1]), dim=1)
    return indices.cpu().numpy(), values.cpu().numpy()


def check_matrix(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Float32 CSR with sorted indices: what every model trains on."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    return matrix
