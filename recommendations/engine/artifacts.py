"""Trained models as plain arrays, and numpy-only scoring for web processes.

A web worker must never import torch: it loads an artifact (one ``.npz`` file holding arrays and a
small JSON header) and scores with numpy. Four kinds cover every model:

* ``scores``: one score per item (popularity, trending);
* ``neighbours``: an item x item table in CSR form, ``indptr``/``indices``/``data``, each row an
  item's top neighbours (item-kNN, bought-together, EASE, content, hybrid);
* ``factors``: ALS item factors and the Gram matrix ``YᵀY + λI``, enough to fold in any user from
  their history in well under a millisecond;
* ``sequence``: the sequential model's weights, run by the numpy encoder in
  :mod:`~recommendations.engine.sequential_numpy` over a visitor's recent items in order;
* ``blend``: the arrays of several of the above (under ``<index>/``) and the weights that
  combine their standardised scores.

This module imports numpy only; keep it that way.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

FORMAT_VERSION = 1
KINDS = ("scores", "neighbours", "factors", "sequence", "blend")
_META_KEY = "__meta__"


@dataclass
class Artifact:
    """A model as arrays. ``model`` names the algorithm (``"ease"``), ``kind`` the scoring path;
    ``params`` must be JSON-able. ``item_keys`` (optional) maps indices back to item keys."""

    model: str
    kind: str
    arrays: dict[str, np.ndarray]
    params: dict[str, Any] = field(default_factory=dict)
    item_keys: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown artifact kind {self.kind!r}; expected one of {KINDS}")


def save_artifact(artifact: Artifact, target: str | Path | IO[bytes]) -> None:
    """Write one ``.npz`` (compressed; loadable with ``allow_pickle=False``)."""
    meta = {
        "format": FORMAT_VERSION,
        "model": artifact.model,
        "kind": artifact.kind,
        "params": artifact.params,
    }
    arrays = {f"a_{name}": np.asarray(value) for name, value in artifact.arrays.items()}
    if artifact.item_keys is not None:
        arrays["item_keys"] = np.asarray(artifact.item_keys, dtype=np.str_)
    write_npz(target, {**arrays, _META_KEY: np.asarray(json.dumps(meta))})


def write_npz(target: str | Path | IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """What ``np.savez_compressed`` writes, at zlib's fastest level: about half the time for a
    few per cent more bytes, on the training run's path (``np.load`` reads it the same way)."""
    with zipfile.ZipFile(
        target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True
    ) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)


def load_artifact(source: str | Path | IO[bytes] | bytes) -> Artifact:
    """Read what :func:`save_artifact` wrote."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with np.load(source, allow_pickle=False) as npz:
        meta = json.loads(str(npz[_META_KEY]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported artifact format {meta.get('format')!r}")
        arrays = {name[2:]: npz[name] for name in npz.files if name.startswith("a_")}
        item_keys = npz["item_keys"] if "item_keys" in npz.files else None
    return Artifact(meta["model"], meta["kind"], arrays, meta["params"], item_keys)


def load_scorer(source: Artifact | str | Path | IO[bytes] | bytes) -> Scorer:
    """A numpy scorer for an artifact (or a file holding one)."""
    artifact = source if isinstance(source, Artifact) else load_artifact(source)
    if artifact.kind == "sequence":  # the sequential model's numpy encoder imports this module
        from .sequential_numpy import SequenceScorer

        return SequenceScorer(artifact)
    if artifact.kind == "blend":
        return BlendScorer(artifact)
    return _SCORERS[artifact.kind](artifact)


class Scorer:
    """Scores items for one visitor from their history: item indices and interaction weights.

    Indices outside the artifact's catalogue (items added since training, or ``-1`` for unknown
    keys) are ignored. Items the model cannot reach score ``-inf`` and are never returned, so
    :meth:`recommend` may return fewer than ``n`` items; filling up is the serving layer's job.
    """

    #: Whether the order of the history matters (then ``items`` go oldest first).
    ordered = False

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact

    @property
    def n_items(self) -> int:
        raise NotImplementedError

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        raise NotImplementedError

    def similar_scores(self, item: int) -> np.ndarray:
        """Scores of every item as a neighbour of ``item``."""
        raise NotImplementedError

    def recommend(
        self, items: Any, weights: Any = None, n: int = 10, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` item indices and scores for a visitor with this history."""
        items, weights = self._history(items, weights)
        scores = self.score(items, weights)
        if exclude_seen:
            scores[items] = -np.inf
        return top_n(scores, n)

    def similar_items(self, item: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top ``n`` neighbours of one item, never the item itself."""
        if not 0 <= item < self.n_items:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        scores = self.similar_scores(item)
        scores[item] = -np.inf
        return top_n(scores, n)

    def _history(self, items: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
        items = np.asarray(items, dtype=np.int64).ravel()
        weights = (
            np.ones(len(items), np.float32)
            if weights is None
            else np.asarray(weights, np.float32).ravel()
        )
        if len(weights) != len(items):
            raise ValueError("items and weights must have the same length")
        known = (items >= 0) & (items < self.n_items)
        return items[known], weights[known]


class ScoresScorer(Scorer):
    """The same ranking for everyone: popularity, trending."""

    @property
    def n_items(self) -> int:
        return len(self.artifact.arrays["scores"])

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        return self.artifact.arrays["scores"].astype(np.float64)

    def similar_scores(self, item: int) -> np.ndarray:
        return self.score(())


class NeighbourScorer(Scorer):
    """``history @ S`` for a sparse item x item table ``S``."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        arrays = artifact.arrays
        self._indptr, self._indices, self._data = (
            arrays["indptr"],
            arrays["indices"],
            arrays["data"],
        )

    @property
    def n_items(self) -> int:
        return len(self._indptr) - 1

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        items, weights = self._history(items, weights)
        starts, ends = self._indptr[items], self._indptr[items + 1]
        lengths = ends - starts
        positions = np.repeat(ends - np.cumsum(lengths), lengths) + np.arange(lengths.sum())
        targets = self._indices[positions]
        contributions = self._data[positions] * np.repeat(weights, lengths)
        scores = np.full(self.n_items, -np.inf)
        reached = np.unique(targets)
        scores[reached] = 0.0
        np.add.at(scores, targets, contributions)
        return scores

    def similar_scores(self, item: int) -> np.ndarray:
        return self.score([item])


class FactorScorer(Scorer):
    """ALS: fold the visitor in against fixed item factors, then rank by dot product."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self._item_factors = artifact.arrays["item_factors"]
        self._gram = artifact.arrays["gram"]
        self._alpha = float(artifact.params["alpha"])
        self._unit_factors: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return len(self._item_factors)

    def fold_in(self, items: Any, weights: Any = None) -> np.ndarray:
        items, weights = self._history(items, weights)
        return fold_in(self._item_factors, self._gram, self._alpha, items, weights)

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        return self._item_factors @ self.fold_in(items, weights)

    def similar_scores(self, item: int) -> np.ndarray:
        if self._unit_factors is None:
            norms = np.linalg.norm(self._item_factors, axis=1, keepdims=True)
            self._unit_factors = self._item_factors / np.maximum(norms, 1e-12)
        return self._unit_factors @ self._unit_factors[item]


class BlendScorer(Scorer):
    """A weighted sum of its parts' scores, each standardised over the catalogue, as the trained
    blend combines them. An item a sparse part does not reach counts as that part's zero (what
    the full product would give it, near enough: the table keeps each item's top neighbours)."""

    def __init__(self, artifact: Artifact) -> None:
        super().__init__(artifact)
        self.weights = [float(weight) for weight in artifact.params["weights"]]
        self.parts = []
        for index, header in enumerate(artifact.params["part_artifacts"]):
            prefix = f"{index}/"
            arrays = {
                key[len(prefix) :]: value
                for key, value in artifact.arrays.items()
                if key.startswith(prefix)
            }
            part = Artifact(header["model"], header["kind"], arrays, header["params"])
            self.parts.append(load_scorer(part))
        self.ordered = any(part.ordered for part in self.parts)

    @property
    def n_items(self) -> int:
        return self.parts[0].n_items

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        items, weights = self._history(items, weights)
        return self._combine([part.score(items, weights) for part in self.parts])

    def similar_scores(self, item: int) -> np.ndarray:
        return self._combine([part.similar_scores(item) for part in self.parts])

    def _combine(self, rows: list[np.ndarray]) -> np.ndarray:
        total = np.zeros(self.n_items)
        for weight, row in zip(self.weights, rows, strict=True):
            if weight:
                total += weight * standardised(row)
        return total


def standardised(scores: np.ndarray) -> np.ndarray:
    """Scores minus their mean over their standard deviation; non-finite scores count as 0."""
    scores = np.where(np.isfinite(scores), scores, 0.0)
    spread = scores.std(ddof=1) if len(scores) > 1 else 0.0
    return (scores - scores.mean()) / (spread if spread > 0 else 1.0)


def fold_in(
    item_factors: np.ndarray,
    gram: np.ndarray,
    alpha: float,
    items: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """The ALS user vector for one history, solved exactly.

    Minimises ``Σ_i c_i (p_i - x·y_i)² + λ|x|²`` with ``c = 1 + alpha·r`` on the history and ``c = 1``
    elsewhere: ``(YᵀY + λI + Y_uᵀ diag(alpha r) Y_u) x = Y_uᵀ (1 + alpha r)``. ``gram`` is the
    precomputed ``YᵀY + λI``, so the cost is one factors x factors solve.
    """
    if len(items) == 0:
        return np.zeros(item_factors.shape[1], dtype=item_factors.dtype)
    history = item_factors[items].astype(np.float64)
    confidence = alpha * np.asarray(weights, dtype=np.float64)
    system = gram + (history.T * confidence) @ history
    target = history.T @ (1.0 + confidence)
    return np.linalg.solve(system, target).astype(item_factors.dtype)


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest finite scores, best first."""
    finite = np.flatnonzero(np.isfinite(scores))
    if len(finite) > n:
        finite = finite[np.argpartition(-scores[finite], n - 1)[:n]]
    order = finite[np.lexsort((finite, -scores[finite]))]
    return order.astype(np.int64), scores[order].astype(np.float32)


_SCORERS: dict[str, type[Scorer]] = {
    "scores": ScoresScorer,
    "neighbours": NeighbourScorer,
    "factors": FactorScorer,
}
