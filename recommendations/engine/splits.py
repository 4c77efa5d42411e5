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


def last_basket(
    matrix: sp.csr_matrix, times: sp.csr_matrix, *, min_items: int = 3, seed: int = 0
) -> Split:
    """Each user with at least ``min_items`` items over two baskets or more gives up their whole
    latest basket: every item sharing their latest timestamp (an order, or a session stamped as
    one), so none of the held-out items' basket-mates is left in training to give them away.

    Users with a single basket (or fewer than ``min_items`` items) stay in training only. The
    split is deterministic; ``seed`` is accepted for the same signature as :func:`leave_last_out`
    and changes nothing, since a whole basket is held out there is no tie to break.
    """
    del seed
    rows, cols, values, stamps = _cells(matrix, times)
    n_users = matrix.shape[0]
    latest = np.full(n_users, -np.inf)
    np.maximum.at(latest, rows, stamps)
    in_last = stamps == latest[rows]
    earlier = np.bincount(rows[~in_last], minlength=n_users)
    counts = np.bincount(rows, minlength=n_users)
    eligible = (earlier > 0) & (counts >= min_items)
    held = in_last & eligible[rows]
    return _split("last_basket", matrix.shape, rows, cols, values, stamps, held)


#: The protocols :func:`split_by` knows, the reference first.
PROTOCOLS = ("leave_last_out", "last_basket", "time")


def split_by(
    protocol: str,
    matrix: sp.csr_matrix,
    times: sp.csr_matrix,
    *,
    min_items: int = 3,
    seed: int = 0,
    test_fraction: float = 0.2,
) -> Split:
    """The split of ``protocol``: ``"leave_last_out"`` (the reference), ``"last_basket"``
    (stricter: the whole latest basket) or ``"time"`` (a global cut-off)."""
    if protocol == "leave_last_out":
        return leave_last_out(matrix, times, min_items=min_items, seed=seed)
    if protocol == "last_basket":
        return last_basket(matrix, times, min_items=min_items, seed=seed)
    if protocol == "time":
        return time_split(matrix, times, test_fraction=test_fraction)
    raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")


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
