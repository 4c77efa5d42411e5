"""Item x item models: a sparse table of each item's top neighbours, scored as ``history @ S``.

Keeping only the top ``k`` neighbours per item bounds memory (items x k) and makes the table the
artifact itself: the web process scores with the same numbers the evaluation measured.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact
from ..data import matrix_from_pairs
from ..device import dense
from .base import Recommender, check_matrix

#: Rows of a similarity computed per block: bounds the dense block x items buffer.
ROW_BLOCK = 1024


class NeighbourModel(Recommender):
    """Base for models that reduce to an item x item table ``similarity`` (CSR, no self-loops)."""

    name: ClassVar[str] = "neighbours"

    def __init__(self, neighbours: int = 100, device: str | torch.device = "auto") -> None:
        super().__init__(device)
        self.neighbours = neighbours
        self.similarity: sp.csr_matrix | None = None

    def params(self) -> dict[str, Any]:
        return {"neighbours": self.neighbours}

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        return dense(sp.csr_matrix(history, dtype=np.float32) @ self._table(), self.device)

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        return dense(self._table()[items], self.device)

    def to_artifact(self) -> Artifact:
        return table_artifact(self.name, self._table(), self.params())

    @classmethod
    def from_table(
        cls, table: sp.csr_matrix, train: sp.csr_matrix | None = None, **kwargs: Any
    ) -> Self:
        """A fitted model around an existing table (e.g. one read back from an artifact)."""
        model = cls(**kwargs)
        model.similarity = check_matrix(table)
        model.train = train if train is not None else sp.csr_matrix((0, table.shape[1]))
        return model

    def _table(self) -> sp.csr_matrix:
        if self.similarity is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.similarity


def top_k_table(
    rows_of: Callable[[int, int], torch.Tensor],
    n_items: int,
    k: int,
    *,
    by_magnitude: bool = False,
) -> sp.csr_matrix:
    """Keep each row's ``k`` strongest entries (never the diagonal) of a similarity computed in
    row blocks by ``rows_of(start, stop)``.

    By default the strongest are the largest positive values. ``by_magnitude`` ranks by absolute
    value and keeps the sign, for weights where negative entries carry information (EASE: a
    strongly negative weight pushes an item down and dropping it changes the ranking).
    """
    k = min(k, max(n_items - 1, 0))
    all_rows, all_cols, all_values = [], [], []
    for start in range(0, n_items if k else 0, ROW_BLOCK):
        stop = min(start + ROW_BLOCK, n_items)
        block = rows_of(start, stop).float()
        strength = block.abs() if by_magnitude else block.clone()
        local = torch.arange(stop - start, device=block.device)
        strength[local, local + start] = -torch.inf
        ranks, cols = torch.topk(strength, k, dim=1)
        keep = ranks > 0
        rows = (local[:, None] + start).expand_as(cols)
        all_rows.append(rows[keep].cpu().numpy())
        all_cols.append(cols[keep].cpu().numpy())
        all_values.append(block.gather(1, cols)[keep].cpu().numpy())
    if not all_rows:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    return matrix_from_pairs(
        np.concatenate(all_rows),
        np.concatenate(all_cols),
        (n_items, n_items),
        np.concatenate(all_values),
    )


def table_artifact(model: str, table: sp.csr_matrix, params: dict[str, Any]) -> Artifact:
    """The ``neighbours`` artifact of an item x item table."""
    return Artifact(
        model=model,
        kind="neighbours",
        arrays={
            "indptr": table.indptr.astype(np.int64),
            "indices": table.indices.astype(np.int32),
            "data": table.data.astype(np.float32),
        },
        params=params,
    )


def cooccurrence(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """``XᵀX`` as sparse CSR (read-only): cost grows with Σ (items per row)², not items².

    One selection fits several models on the same matrix (EASE and item-kNN on the validation
    part, then the winners on all of it), so the last few products are remembered by the
    matrix's content: each is computed once per run. Indices are left unsorted; every consumer
    slices rows, densifies or reads the diagonal, none of which needs them sorted.
    """
    matrix = check_matrix(matrix)
    key = _fingerprint(matrix)
    with _gram_lock:
        cached = _grams.get(key)
    if cached is not None:
        return cached
    product = (matrix.T.tocsr() @ matrix).tocsr()
    for part in (product.data, product.indices, product.indptr):
        part.flags.writeable = False
    with _gram_lock:
        _grams[key] = product
        while len(_grams) > _GRAMS_KEPT:
            _grams.pop(next(iter(_grams)))
    return product


_GRAMS_KEPT = 2
_grams: dict[tuple[Any, ...], sp.csr_matrix] = {}
_gram_lock = threading.Lock()


def forget_cooccurrences() -> None:
    """Drop the remembered products (the end of a training run: a worker should not hold them)."""
    with _gram_lock:
        _grams.clear()


def _fingerprint(matrix: sp.csr_matrix) -> tuple[Any, ...]:
    digest = hashlib.blake2b(digest_size=16)
    for part in (matrix.indptr, matrix.indices, matrix.data):
        digest.update(np.ascontiguousarray(part).view(np.uint8).data)
    return (matrix.shape, matrix.data.dtype.str, digest.hexdigest())
