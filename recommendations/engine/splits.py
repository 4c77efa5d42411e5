"""Train/test splits that respect time: a model must never see the future it is scored on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .data import matrix_from_pairs


@dataclass
class Split:
    """``train`` (with its cell ``train_times``) and the held-out ``test`` cells, all users x
    items. ``users`` are the rows that have held-out cells, the ones metrics average over."""

    protocol: str
    train: sp.csr_matrix
    train_times: sp.csr_matrix
    test: sp.csr_matrix

    @property
    def users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.test.indptr))


def leave_last_out(
    matrix: sp.csr_matrix, times: sp.csr_matrix, *, min_items: int = 3, seed: int = 0
) -> Split:
    """Each user with at least ``min_items`` items gives up their latest one.

    Ties on time (a basket's items share a timestamp) are broken by a seeded shuffle, so the split
    is reproducible and not biased by item order. Users with fewer items stay in training only.
    """
    rows, cols, values, stamps = _cells(matrix, times)
    tie_break = np.random.default_rng(seed).permutation(len(rows))
    order = np.lexsort((tie_break, stamps, rows))
    is_last = np.r_[rows[order][1:] != rows[order][:-1], True] if len(rows) else np.empty(0, bool)
    last = order[is_last]
    counts = np.bincount(rows, minlength=matrix.shape[0])
    held = np.zeros(len(rows), dtype=bool)
    held[last[counts[rows[last]] >= min_items]] = True
    return _split("leave_last_out", matrix.shape, rows, cols, values, stamps, held)


def time_split(
    matrix: sp.csr_matrix,
    times: sp.csr_matrix,
    *,
    test_fraction: float = 0.2,
    cutoff: float | None = None,
) -> Split:
    """Cells at or after ``cutoff`` (default: the time that leaves ``test_fraction`` of the cells
    after it) are test. Test cells of users with no training cell are dropped: no model can
    personalise for them, and popularity would be scored on its home ground only."""
    rows, cols, values, stamps = _cells(matrix, times)
    if cutoff is None:
        cutoff = float(np.quantile(stamps, 1.0 - test_fraction)) if len(stamps) else 0.0
    held = stamps >= cutoff
    has_train = np.bincount(rows[~held], minlength=matrix.shape[0]) > 0
    held &= has_train[rows]
    keep = ~(stamps >= cutoff) | held
    return _split(
        "time", matrix.shape, rows[keep], cols[keep], values[keep], stamps[keep], held[keep]
    )


def _cells(
    matrix: sp.csr_matrix, times: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    coo = sp.csr_matrix(matrix).tocoo()
    times = sp.csr_matrix(times)
    if times.nnz != coo.nnz:
        raise ValueError("times must have the same sparsity pattern as the matrix")
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, times.tocoo().data


def _split(
    protocol: str,
    shape: tuple[int, int],
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    stamps: np.ndarray,
    held: np.ndarray,
) -> Split:
    train = ~held
    return Split(
        protocol=protocol,
        train=matrix_from_pairs(rows[train], cols[train], shape, values[train]),
        train_times=matrix_from_pairs(rows[train], cols[train], shape, stamps[train], np.float64),
        test=matrix_from_pairs(rows[held], cols[held], shape, values[held]),
    )
