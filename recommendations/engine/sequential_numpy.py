"""The sequential model's encoder in numpy: a visitor's recent items in, scores for every item out.

A ``sequence`` artifact (written by :class:`~recommendations.engine.models.sequential.SASRec`)
holds the trained weights under their torch names and ``item_vectors`` (item embeddings with the
content projection already added). Two 64-dimensional blocks over 50 items are a handful of small
matrix products, well under a millisecond per visitor, so web processes score it without torch.

This module imports numpy only (and the artifact module, which does too); keep it that way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .artifacts import Scorer

#: Cell weights become the model's "kind" input by these edges (``weight < 1.5`` is bucket 1,
#: ``< 4`` bucket 2, ``< 7.5`` bucket 3, else 4; 0 is padding). Under the default training
#: weights (view or click 1, cart 3, purchase 5, capped at 10) that is about: a view, a cart, a
#: purchase, more than one purchase. Binary data uses bucket 1 only.
WEIGHT_EDGES = (1.5, 4.0, 7.5)

_LAYER_NORM_EPS = 1e-5


def weight_buckets(weights: Any, edges: Any = WEIGHT_EDGES) -> np.ndarray:
    """Kind index (1 ... len(edges) + 1) of each cell weight."""
    return (
        np.searchsorted(np.asarray(edges), np.asarray(weights), side="right").astype(np.int64) + 1
    )


def encode(
    arrays: dict[str, np.ndarray], params: dict[str, Any], items: Any, weights: Any = None
) -> np.ndarray:
    """The last position's hidden state (dim) for one history: item indices, oldest first."""
    items = np.asarray(items, dtype=np.int64).ravel()
    weights = np.ones(len(items), np.float32) if weights is None else np.asarray(weights).ravel()
    max_len = int(params["max_len"])
    items, weights = items[-max_len:], weights[-max_len:]
    kinds = weight_buckets(weights, params.get("weight_edges", WEIGHT_EDGES))
    positions = arrays["positions.weight"]
    hidden = (
        arrays["item_vectors"][items]
        + positions[len(positions) - len(items) :]
        + arrays["kinds.weight"][kinds]
    ).astype(np.float32)
    heads = int(params["heads"])
    length, dim = hidden.shape
    head_dim = dim // heads
    future = np.triu(np.ones((length, length), dtype=bool), k=1)
    for block in range(int(params["blocks"])):
        prefix = f"blocks.{block}."

        def w(name: str, prefix: str = prefix) -> np.ndarray:
            return arrays[prefix + name]

        qkv = _linear(
            _layer_norm(hidden, w("norm1.weight"), w("norm1.bias")), w("qkv.weight"), w("qkv.bias")
        )
        q, k, v = (
            part.reshape(length, heads, head_dim).transpose(1, 0, 2)
            for part in np.split(qkv, 3, axis=1)
        )
        logits = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)
        logits[:, future] = -np.inf
        logits -= logits.max(axis=2, keepdims=True)
        attention = np.exp(logits)
        attention /= attention.sum(axis=2, keepdims=True)
        attended = (attention @ v).transpose(1, 0, 2).reshape(length, dim)
        hidden = hidden + _linear(attended, w("out.weight"), w("out.bias"))
        feed = _layer_norm(hidden, w("norm2.weight"), w("norm2.bias"))
        feed = np.maximum(_linear(feed, w("ff1.weight"), w("ff1.bias")), 0.0)
        hidden = hidden + _linear(feed, w("ff2.weight"), w("ff2.bias"))
    return _layer_norm(hidden[-1], arrays["norm.weight"], arrays["norm.bias"])


class SequenceScorer(Scorer):
    """Scores for a visitor from their recent items, oldest first (order matters here)."""

    ordered = True

    @property
    def n_items(self) -> int:
        return len(self.artifact.arrays["item_bias"])

    def score(self, items: Any, weights: Any = None) -> np.ndarray:
        items, weights = self._history(items, weights)
        arrays = self.artifact.arrays
        if not len(items):
            return arrays["item_bias"].astype(np.float64)
        hidden = encode(arrays, self.artifact.params, items, weights)
        return (arrays["item_vectors"] @ hidden + arrays["item_bias"]).astype(np.float64)

    def similar_scores(self, item: int) -> np.ndarray:
        vectors = self.artifact.arrays["item_vectors"]
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return (unit @ unit[item]).astype(np.float64)


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x @ weight.T + bias


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + _LAYER_NORM_EPS) * weight + bias
