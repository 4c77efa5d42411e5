"""From raw events to the sparse user x item matrix every model learns from.

The matrix is implicit feedback: a cell says how strongly a user showed interest in an item, not a
rating. Each event contributes ``kind weight x explicit weight x time decay``; the contributions of a
(user, item) pair are then combined (summed by default, optionally capped), so that a hundred page
views cannot outweigh a purchase by an unbounded factor.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .indexmap import IndexMap

SECONDS_PER_DAY = 86_400.0

#: Event kinds that signal interest, and how much. Kinds missing here (impressions, searches,
#: removals from the cart) contribute nothing.
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "click": 1.0,
    "add_to_cart": 3.0,
    "purchase": 5.0,
}


@dataclass(frozen=True)
class EventLog:
    """Parallel arrays, one entry per event: who, what, when (Unix seconds), how strongly."""

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(self.users), len(self.items), len(self.timestamps), len(self.weights)}
        if len(sizes) != 1:
            raise ValueError("users, items, timestamps and weights must have the same length")

    def __len__(self) -> int:
        return len(self.users)

    @classmethod
    def from_columns(
        cls,
        users: Iterable[object],
        items: Iterable[object],
        timestamps: Iterable[float] | None = None,
        *,
        weights: Iterable[float] | None = None,
        kinds: Iterable[object] | None = None,
        kind_weights: Mapping[object, float] | None = None,
    ) -> EventLog:
        """Build a log from columns.

        With ``kinds``, each event's weight is multiplied by ``kind_weights[kind]`` (default
        :data:`DEFAULT_KIND_WEIGHTS`); unknown kinds weigh 0 and are dropped later. Missing
        timestamps count as 0 (no decay possible), missing weights as 1.
        """
        users_array = _keys(users)
        items_array = _keys(items)
        n = len(users_array)
        times = (
            np.zeros(n) if timestamps is None else np.asarray(list(timestamps), dtype=np.float64)
        )
        weight = (
            np.ones(n, np.float32)
            if weights is None
            else np.asarray(list(weights), dtype=np.float32)
        )
        if kinds is not None:
            table: dict[Any, float] = dict(
                DEFAULT_KIND_WEIGHTS if kind_weights is None else kind_weights
            )
            kind_list = list(kinds)
            if len(kind_list) != n:
                raise ValueError("kinds must have one entry per event")
            weight = weight * np.fromiter(
                (table.get(kind, 0.0) for kind in kind_list), dtype=np.float32, count=n
            )
        return cls(users_array, items_array, times, weight)

    def select(self, mask: np.ndarray) -> EventLog:
        """The events where ``mask`` is true (a boolean array or an index array)."""
        return EventLog(
            self.users[mask], self.items[mask], self.timestamps[mask], self.weights[mask]
        )


@dataclass(frozen=True)
class MatrixConfig:
    """How events become matrix cells.

    ``half_life_days``: an event this old (relative to ``reference_time``, default the newest
    event) counts half; ``None`` disables decay. ``combine``: ``"sum"`` adds a pair's contributions,
    ``"max"`` keeps the strongest; ``max_weight`` then caps the cell. ``binary`` sets every kept
    cell to 1. ``min_user_items`` / ``min_item_users`` drop users and items with fewer distinct
    partners, repeated until stable (a k-core). ``pair_time`` stamps a cell with its first or last
    event; the first marks when the interest began, which is what leave-last-out splits need.
    """

    half_life_days: float | None = None
    reference_time: float | None = None
    combine: Literal["sum", "max"] = "sum"
    max_weight: float | None = None
    binary: bool = False
    min_user_items: int = 1
    min_item_users: int = 1
    pair_time: Literal["first", "last"] = "first"


@dataclass
class Interactions:
    """The user x item matrix (float32 CSR) with a same-pattern matrix of cell times (float64,
    Unix seconds) and the index maps that give rows and columns their keys."""

    matrix: sp.csr_matrix
    times: sp.csr_matrix
    user_map: IndexMap
    item_map: IndexMap

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns, weights and times of the stored cells, row-major."""
        coo = self.matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data, self.times.data


def build_interactions(
    log: EventLog,
    config: MatrixConfig | None = None,
    *,
    user_map: IndexMap | None = None,
    item_map: IndexMap | None = None,
    exclude_users: Collection[object] = (),
) -> Interactions:
    """Turn an event log into an :class:`Interactions` matrix.

    Pass the previous ``user_map`` / ``item_map`` to keep existing indices (they are copied, never
    renumbered; new keys are appended). Users in ``exclude_users`` (for example accounts flagged as
    bots) are dropped; if they already have an index, their row is simply empty.
    """
    config = config or MatrixConfig()
    user_map = user_map.copy() if user_map is not None else IndexMap()
    item_map = item_map.copy() if item_map is not None else IndexMap()

    keep = log.weights > 0
    if len(exclude_users):
        keep &= ~np.isin(log.users, _keys(exclude_users))
    log = log.select(keep)

    weights = log.weights.astype(np.float64)
    if config.half_life_days is not None:
        reference = (
            config.reference_time
            if config.reference_time is not None
            else (float(log.timestamps.max()) if len(log) else 0.0)
        )
        age_days = np.maximum(reference - log.timestamps, 0.0) / SECONDS_PER_DAY
        weights = weights * np.exp2(-age_days / config.half_life_days)

    user_keys, user_codes = np.unique(log.users, return_inverse=True)
    item_keys, item_codes = np.unique(log.items, return_inverse=True)
    pair_users, pair_items, pair_weights, pair_times = _combine_pairs(
        user_codes.ravel(), item_codes.ravel(), weights, log.timestamps, len(item_keys), config
    )
    keep = _k_core(
        pair_users,
        pair_items,
        len(user_keys),
        len(item_keys),
        config.min_user_items,
        config.min_item_users,
    )
    pair_users, pair_items = pair_users[keep], pair_items[keep]
    pair_weights, pair_times = pair_weights[keep], pair_times[keep]

    if config.max_weight is not None:
        pair_weights = np.minimum(pair_weights, config.max_weight)
    if config.binary:
        pair_weights = np.ones_like(pair_weights)

    used_users = np.unique(pair_users)
    used_items = np.unique(pair_items)
    user_index = np.full(len(user_keys), -1, dtype=np.int64)
    item_index = np.full(len(item_keys), -1, dtype=np.int64)
    user_index[used_users] = user_map.add(user_keys[used_users])
    item_index[used_items] = item_map.add(item_keys[used_items])
    rows, cols = user_index[pair_users], item_index[pair_items]
    shape = (len(user_map), len(item_map))
    return Interactions(
        matrix=_csr(rows, cols, pair_weights.astype(np.float32), shape),
        times=_csr(rows, cols, pair_times.astype(np.float64), shape),
        user_map=user_map,
        item_map=item_map,
    )


def matrix_from_pairs(
    rows: np.ndarray,
    cols: np.ndarray,
    shape: tuple[int, int],
    values: np.ndarray | None = None,
    dtype: type = np.float32,
) -> sp.csr_matrix:
    """A CSR matrix with sorted indices and no duplicates (duplicate cells are summed)."""
    data: np.ndarray = (
        np.ones(len(rows), dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
    )
    matrix = sp.csr_matrix((data, (rows, cols)), shape=shape, dtype=dtype)
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def _csr(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    return matrix_from_pairs(rows, cols, shape, values, dtype=values.dtype.type)


def _combine_pairs(
    users: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    times: np.ndarray,
    n_items: int,
    config: MatrixConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if len(users) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), np.empty(0)
    codes = users.astype(np.int64) * n_items + items
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    reduce_weight = np.add if config.combine == "sum" else np.maximum
    reduce_time = np.minimum if config.pair_time == "first" else np.maximum
    pair_weights = reduce_weight.reduceat(weights[order], starts)
    pair_times = reduce_time.reduceat(times[order], starts)
    pair_codes = codes[starts]
    return pair_codes // n_items, pair_codes % n_items, pair_weights, pair_times


def _k_core(
    users: np.ndarray,
    items: np.ndarray,
    n_users: int,
    n_items: int,
    min_user_items: int,
    min_item_users: int,
) -> np.ndarray:
    keep = np.ones(len(users), dtype=bool)
    if min_user_items <= 1 and min_item_users <= 1:
        return keep
    while True:
        user_counts = np.bincount(users[keep], minlength=n_users)
        item_counts = np.bincount(items[keep], minlength=n_items)
        still = (
            keep & (user_counts[users] >= min_user_items) & (item_counts[items] >= min_item_users)
        )
        if still.sum() == keep.sum():
            return keep
        keep = still


def _keys(values: Iterable[object]) -> np.ndarray:
    array = np.asarray(values if isinstance(values, np.ndarray) else list(values))
    return array.astype(np.str_) if array.dtype.kind != "U" else array
