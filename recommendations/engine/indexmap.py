"""Stable contiguous indices for user and item keys.

Factor matrices and item-item tables are indexed by position, so a key must keep its position
across retrains: a warm-started model reuses the previous rows, and a web process that holds an
older artifact still maps keys correctly. New keys are therefore only ever appended.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class IndexMap:
    """Key → index, append-only. Keys are stored as strings so that they round-trip through
    ``.npz`` files without pickling."""

    def __init__(self, keys: Iterable[object] = ()) -> None:
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self.add(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return str(key) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IndexMap) and self._keys == other._keys

    def __repr__(self) -> str:
        return f"IndexMap({len(self)} keys)"

    @property
    def keys(self) -> list[str]:
        """All keys in index order (a copy)."""
        return list(self._keys)

    def add(self, keys: Iterable[object]) -> np.ndarray:
        """Index of each key, appending unseen keys in first-seen order."""
        keys = _as_str_array(keys)
        if keys.size == 0:
            return np.empty(0, dtype=np.int64)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        codes = np.empty(len(unique), dtype=np.int64)
        for position in np.argsort(first, kind="stable"):
            key = str(unique[position])
            index = self._index.get(key)
            if index is None:
                index = len(self._keys)
                self._index[key] = index
                self._keys.append(key)
            codes[position] = index
        return codes[inverse.ravel()]

    def lookup(self, keys: Iterable[object], missing: int = -1) -> np.ndarray:
        """Index of each key, or ``missing`` for unknown keys; never modifies the map."""
        keys = _as_str_array(keys)
        if keys.size == 0:
            return np.empty(0, dtype=np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        codes = np.fromiter(
            (self._index.get(str(key), missing) for key in unique),
            dtype=np.int64,
            count=len(unique),
        )
        return codes[inverse.ravel()]

    def index_of(self, key: object) -> int:
        """Index of one key; ``KeyError`` if unknown."""
        return self._index[str(key)]

    def keys_at(self, indices: Iterable[int]) -> list[str]:
        """The keys at the given indices."""
        return [self._keys[int(i)] for i in indices]

    def copy(self) -> IndexMap:
        return IndexMap(self._keys)

    def to_array(self) -> np.ndarray:
        """The keys as a unicode array, for ``np.savez`` without pickling."""
        return np.asarray(self._keys, dtype=np.str_)

    @classmethod
    def from_array(cls, keys: Iterable[object]) -> IndexMap:
        """Rebuild from :meth:`to_array` (or any sequence of distinct keys)."""
        keys = _as_str_array(keys)
        mapping = cls(keys)
        if len(mapping) != len(keys):
            raise ValueError("IndexMap keys must be distinct")
        return mapping


def _as_str_array(keys: Iterable[object]) -> np.ndarray:
    array = np.asarray(keys if isinstance(keys, np.ndarray) else list(keys))
    return array.astype(np.str_) if array.dtype.kind != "U" else array
