"""SASRec-style next-item model: causal self-attention over each user's recent items, trained
with full-softmax cross-entropy over the catalogue.

Kang & McAuley, "Self-Attentive Sequential Recommendation" (ICDM 2018), trained as in Klenitskiy
& Vasilev, "Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?" (RecSys 2023):
the next item at every position of a window is predicted with a softmax over all items instead
of one sampled negative; with a few thousand items the full softmax is cheap and clearly better.

Inputs per position: the item, its position in the window, and its *kind*. The engine's matrices
keep one weight per (user, item) cell, not the event kind, so the kind is a bucket of that weight
(:data:`WEIGHT_EDGES`: about a view or click, a cart, a purchase, more than one purchase under the
default training weights 1/3/5 capped at 10). Optional item content features (rows of
:func:`~recommendations.engine.features.item_features`) enter through a linear projection added
to each item's embedding, so an item nobody has interacted with yet still has a representation
from its text. The item representations are tied with the output layer.

The network is a few small dense products, so serving runs it in numpy from the artifact
(:mod:`recommendations.engine.sequential_numpy`); this module is for training and offline scoring.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ..artifacts import Artifact
from ..sequential_numpy import WEIGHT_EDGES, weight_buckets
from .base import Recommender, check_matrix

#: Sequences of at most this many items are sliced into training windows from the end; a user
#: with more gives several windows (each overlapping the next by one item).
DEFAULT_MAX_LEN = 50


class _Encoder(nn.Module):
    """The network; parameter names are the artifact's array names."""

    def __init__(
        self,
        n_items: int,
        n_features: int,
        dim: int,
        blocks: int,
        heads: int,
        max_len: int,
        n_kinds: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.heads = heads
        # Row 0 is padding; item i is row i + 1.
        self.items = nn.Embedding(n_items + 1, dim, padding_idx=0)
        self.item_bias = nn.Parameter(torch.zeros(n_items))
        self.positions = nn.Embedding(max_len, dim)
        self.kinds = nn.Embedding(n_kinds + 1, dim, padding_idx=0)
        self.content = nn.Linear(n_features, dim, bias=False) if n_features else None
        self.blocks = nn.ModuleList(_Block(dim, heads, dropout) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        for embedding in (self.items, self.positions, self.kinds):
            nn.init.normal_(embedding.weight, std=0.02)
            with torch.no_grad():
                if embedding.padding_idx is not None:
                    embedding.weight[embedding.padding_idx].zero_()
        if self.content is not None:
            nn.init.normal_(self.content.weight, std=0.02)

    def item_vectors(self, features: torch.Tensor | None) -> torch.Tensor:
        """(items + 1) x dim: embedding plus projected content; row 0 stays zero."""
        vectors = self.items.weight
        if self.content is not None and features is not None:
            projected = torch.sparse.mm(features, self.content.weight.T)
            vectors = vectors + torch.cat([projected.new_zeros(1, projected.shape[1]), projected])
        return vectors

    def forward(
        self, sequences: torch.Tensor, kinds: torch.Tensor, vectors: torch.Tensor
    ) -> torch.Tensor:
        """Hidden states (batch x length x dim) of left-padded windows (0 = padding)."""
        length = sequences.shape[1]
        positions = torch.arange(
            self.positions.num_embeddings - length,
            self.positions.num_embeddings,
            device=sequences.device,
        )
        hidden = vectors[sequences] + self.positions(positions)[None] + self.kinds(kinds)
        hidden = self.dropout(hidden)
        padding = sequences == 0
        causal = torch.ones(length, length, dtype=torch.bool, device=sequences.device).tril()
        # Keys that are padding are masked; a padded query may see itself (no empty softmax).
        allowed = causal[None] & ~padding[:, None, :]
        allowed |= torch.eye(length, dtype=torch.bool, device=sequences.device)[None]
        for block in self.blocks:
            hidden = block(hidden, allowed)
        return self.norm(hidden)


class _Block(nn.Module):
    """Pre-norm transformer block: causal multi-head attention, then a ReLU feed-forward."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, dim)
        self.ff2 = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, dim = hidden.shape
        q, k, v = self.qkv(self.norm1(hidden)).split(dim, dim=-1)
        shape = (batch, length, self.heads, dim // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
        attended = nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=allowed[:, None],
            dropout_p=self.dropout.p if self.training else 0.0,
        )
        attended = attended.transpose(1, 2).reshape(batch, length, dim)
        hidden = hidden + self.dropout(self.out(attended))
        feed = self.ff2(torch.relu(self.ff1(self.norm2(hidden))))
        return hidden + self.dropout(feed)


class SASRec(Recommender):
    """Next-item model over each user's items in time order.

    ``fit(matrix, times, features, warm_start=previous)``: ``times`` (same pattern, as in
    :class:`~recommendations.engine.data.Interactions`) give the order; without them the column
    order is used. ``features`` (items x features, rows aligned with the item index) turn on the
    content side input. ``warm_start`` (a fitted :class:`SASRec` or its artifact, on the same item
    index, new items appended) copies every weight and trains ``fine_tune_epochs`` more; rows of
    new items start from their content (zero free embedding plus the projected features, or, for a
    model without the content input, the mean embedding of their most similar old items by
    content), else small and random.

    ``shuffle_order=True`` is the control that says whether order carries signal: every user's
    sequence is shuffled (seeded) before training and scoring. ``shuffle_order="window"`` shuffles
    only within consecutive blocks of ``max_len`` items counted from the latest, so the scored
    window still holds the latest items: it separates order within a window from recency.

    ``device="auto"``: CUDA with bf16 autocast when present, float32 on the CPU, where a fit is
    deterministic for a given ``seed`` (and thread count).
    """

    name: ClassVar[str] = "sasrec"

    def __init__(
        self,
        dim: int = 64,
        blocks: int = 2,
        heads: int = 1,
        max_len: int = DEFAULT_MAX_LEN,
        dropout: float = 0.1,
        epochs: int = 12,
        fine_tune_epochs: int = 3,
        batch_size: int = 64,
        learning_rate: float = 5e-3,
        weight_decay: float = 0.0,
        shuffle_order: bool | str = False,
        seed: int = 0,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(device)
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.dim = dim
        self.blocks = blocks
        self.heads = heads
        self.max_len = max_len
        self.dropout = dropout
        self.epochs = epochs
        self.fine_tune_epochs = fine_tune_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.shuffle_order = shuffle_order
        self.seed = seed
        self.network: _Encoder | None = None
        self.features: sp.csr_matrix | None = None
        #: Per fitted user: the latest ``max_len`` items and kinds, left-padded (0), items + 1.
        self.recent: tuple[np.ndarray, np.ndarray] | None = None
        self.epoch_s: list[float] = []
        #: The latest interaction time of the last fit (its artifact keeps it): a warm start
        #: fine-tunes on the rows with later events.
        self.trained_until: float | None = None
        self._vectors: torch.Tensor | None = None

    @property
    def n_items(self) -> int:
        return int(self._network().item_bias.shape[0])

    def params(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "blocks": self.blocks,
            "heads": self.heads,
            "max_len": self.max_len,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "fine_tune_epochs": self.fine_tune_epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "shuffle_order": self.shuffle_order,
        }

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        matrix: sp.csr_matrix,
        times: sp.csr_matrix | None = None,
        features: sp.csr_matrix | None = None,
        warm_start: SASRec | Artifact | None = None,
        epochs: int | None = None,
    ) -> Self:
        self.train = check_matrix(matrix)
        n_items = self.train.shape[1]
        if features is not None and features.shape[0] != n_items:
            raise ValueError(f"features have {features.shape[0]} rows for {n_items} items")
        sequences, kinds = self._sequences(self.train, times)
        self.recent = _recent_windows(sequences, kinds, self.max_len)
        previous = (
            SASRec.from_artifact(warm_start, "cpu")
            if isinstance(warm_start, Artifact)
            else warm_start
        )
        if epochs is None:
            epochs = self.epochs if previous is None else self.fine_tune_epochs
        # A content input the checkpoint did not have starts untrained: every row trains it.
        gains_content = previous is not None and previous.features is None and features is not None
        rows = self._rows_to_train(times, None if gains_content else previous)
        features, new_item_content = _carried_features(features, previous, n_items)
        with _seeded(self.seed), _deterministic(self.device.type == "cpu"):
            self.features = _features(features, previous)
            self.network = self._build(n_items, previous, new_item_content)
            self.network.to(self.device)
            features_t = _torch_csr(self.features, self.device)
            windows = _training_windows(
                [sequences[row] for row in rows], [kinds[row] for row in rows], self.max_len
            )
            if len(windows[0]):  # a warm start with no new events is the previous model
                self._train(windows, features_t, epochs)
            else:
                self.network.eval()
        self._vectors = None
        self.trained_until = _latest_time(times)
        return self

    def _rows_to_train(self, times: sp.csr_matrix | None, previous: SASRec | None) -> np.ndarray:
        """Every row for a fit from scratch. A warm start fine-tunes on the rows with events
        after the previous fit's latest one, plus as many other rows drawn at random (a replay
        that keeps the model from forgetting what did not change): the cost follows the new
        events, not the history."""
        n_rows = self._require_train().shape[0]
        every = np.arange(n_rows)
        if previous is None or previous.trained_until is None or times is None:
            return every
        latest = np.full(n_rows, -np.inf)
        stamps = sp.csr_matrix(times, dtype=np.float64)
        counts = np.diff(stamps.indptr)
        if stamps.nnz:
            latest[counts > 0] = np.maximum.reduceat(stamps.data, stamps.indptr[:-1][counts > 0])
        changed = np.flatnonzero(latest > previous.trained_until)
        others = np.setdiff1d(every, changed)
        rng = np.random.default_rng(self.seed)
        replay = rng.choice(others, size=min(len(others), len(changed)), replace=False)
        return np.sort(np.concatenate([changed, replay]))

    def _sequences(
        self, matrix: sp.csr_matrix, times: sp.csr_matrix | None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each row's items in time order (ties by a seeded shuffle) and their kinds."""
        rng = np.random.default_rng(self.seed)
        if times is not None:
            times = sp.csr_matrix(times, dtype=np.float64)
            times.sort_indices()
            if times.nnz != matrix.nnz:
                raise ValueError("times must have the same sparsity pattern as the matrix")
            stamps = times.data
        else:
            stamps = np.zeros(matrix.nnz)
        tie_break = rng.permutation(matrix.nnz) if times is not None else np.arange(matrix.nnz)
        buckets = weight_buckets(matrix.data)
        sequences, kinds = [], []
        for lo, hi in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True):
            order = np.lexsort((tie_break[lo:hi], stamps[lo:hi]))
            if self.shuffle_order == "window":
                for stop in range(len(order), 0, -self.max_len):
                    start = max(0, stop - self.max_len)
                    order[start:stop] = rng.permutation(order[start:stop])
            elif self.shuffle_order:
                order = rng.permutation(order)
            sequences.append(matrix.indices[lo:hi][order].astype(np.int64))
            kinds.append(buckets[lo:hi][order])
        return sequences, kinds

    def _build(
        self, n_items: int, previous: SASRec | None, new_item_content: sp.csr_matrix | None = None
    ) -> _Encoder:
        n_features = 0 if self.features is None else self.features.shape[1]
        network = _Encoder(
            n_items,
            n_features,
            self.dim,
            self.blocks,
            self.heads,
            self.max_len,
            len(WEIGHT_EDGES) + 1,
            self.dropout,
        )
        if previous is None:
            return network
        old = previous._network()
        old_items = old.item_bias.shape[0]
        if old_items > n_items:
            raise ValueError(f"warm start has {old_items} items, more than {n_items}")
        state = {key: value.detach().cpu().clone() for key, value in old.state_dict().items()}
        fresh = network.state_dict()
        for key, value in fresh.items():
            if key not in state:
                state[key] = value  # e.g. a content projection the old model did not have
            elif key in ("items.weight", "item_bias"):
                grown = value.clone()
                grown[: state[key].shape[0]] = state[key]
                state[key] = grown
            elif state[key].shape != value.shape:
                raise ValueError(f"warm start does not match: {key} {tuple(state[key].shape)}")
        new = np.arange(old_items, n_items)
        if len(new) and new_item_content is not None:
            state["items.weight"][torch.from_numpy(new + 1)] = _by_content(
                new_item_content, new, old_items, state["items.weight"][1 : old_items + 1]
            )
        elif len(new) and self.features is not None:
            rows = torch.from_numpy(new + 1)
            if network.content is not None:
                state["items.weight"][rows] = 0.0  # new items start from their text alone
            else:
                state["items.weight"][rows] = _by_content(
                    self.features, new, old_items, state["items.weight"][1 : old_items + 1]
                )
        network.load_state_dict(state)
        return network

    def _train(
        self,
        windows: tuple[np.ndarray, np.ndarray],
        features: torch.Tensor | None,
        epochs: int,
    ) -> None:
        network = self._network()
        sequences, kinds = windows
        optimiser = torch.optim.AdamW(
            network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        rng = np.random.default_rng(self.seed)
        cuda = self.device.type == "cuda"
        self.epoch_s = []
        network.train()
        for _ in range(epochs):
            started = time.perf_counter()
            for batch in np.array_split(
                rng.permutation(len(sequences)), max(1, math.ceil(len(sequences) / self.batch_size))
            ):
                window = torch.from_numpy(sequences[batch]).to(self.device)
                kind = torch.from_numpy(kinds[batch]).to(self.device)
                inputs, targets = window[:, :-1], window[:, 1:]
                vectors = network.item_vectors(features)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
                    hidden = network(inputs, kind[:, :-1], vectors)
                    real = targets > 0
                    logits = hidden[real] @ vectors[1:].T + network.item_bias
                loss = nn.functional.cross_entropy(logits.float(), targets[real] - 1)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
            if cuda:
                torch.cuda.synchronize()
            self.epoch_s.append(time.perf_counter() - started)
        network.eval()

    # -- scoring ---------------------------------------------------------------------------

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        """Scores from an unordered matrix: items in column order (use :meth:`score_sequences`
        when the order is known)."""
        history = sp.csr_matrix(history, dtype=np.float32)
        history.sort_indices()
        sequences = [
            history.indices[lo:hi]
            for lo, hi in zip(history.indptr[:-1], history.indptr[1:], strict=True)
        ]
        weights = [
            history.data[lo:hi]
            for lo, hi in zip(history.indptr[:-1], history.indptr[1:], strict=True)
        ]
        return self.score_sequences(sequences, weights)

    def score_sequences(
        self, sequences: Sequence[Any], weights: Sequence[Any] | None = None
    ) -> torch.Tensor:
        """Scores (visitors x items) from each visitor's item indices, oldest first, and their
        cell weights (default 1). Indices outside the catalogue are ignored."""
        n_items = self.n_items
        items, kinds = [], []
        for row, sequence in enumerate(sequences):
            sequence = np.asarray(sequence, dtype=np.int64).ravel()
            weight = (
                np.ones(len(sequence), np.float32)
                if weights is None
                else np.asarray(weights[row], np.float32).ravel()
            )
            known = (sequence >= 0) & (sequence < n_items)
            items.append(sequence[known])
            kinds.append(weight_buckets(weight[known]))
        return self._score_windows(*_recent_windows(items, kinds, self.max_len))

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        unit = nn.functional.normalize(self._item_vectors()[1:], dim=1)
        return unit[torch.from_numpy(np.asarray(items)).to(self.device)] @ unit.T

    def _score_users(self, users: np.ndarray, history: sp.csr_matrix) -> torch.Tensor:
        if self.recent is None:
            raise RuntimeError("SASRec is not fitted")
        sequences, kinds = self.recent
        return self._score_windows(sequences[users], kinds[users])

    def _score_windows(self, sequences: np.ndarray, kinds: np.ndarray) -> torch.Tensor:
        network = self._network()
        vectors = self._item_vectors()
        with torch.no_grad():
            hidden = network(
                torch.from_numpy(sequences).to(self.device),
                torch.from_numpy(kinds).to(self.device),
                vectors,
            )[:, -1]
            scores = hidden @ vectors[1:].T + network.item_bias
            empty = torch.from_numpy(sequences[:, -1] == 0).to(self.device)
            scores[empty] = network.item_bias  # no history: the learnt item prior alone
            return scores

    def _item_vectors(self) -> torch.Tensor:
        if self._vectors is None:
            with torch.no_grad():
                vectors = self._network().item_vectors(_torch_csr(self.features, self.device))
                self._vectors = vectors.detach()
        return self._vectors

    def _network(self) -> _Encoder:
        if self.network is None:
            raise RuntimeError("SASRec is not fitted")
        return self.network

    # -- artifacts -------------------------------------------------------------------------

    def to_artifact(self) -> Artifact:
        """Every weight as a float32 array (the state dict), the content features (CSR parts)
        for a later warm start, and ``item_vectors`` (embedding plus content, items x dim), all
        the numpy encoder needs."""
        network = self._network()
        arrays = {
            key: value.detach().float().cpu().numpy() for key, value in network.state_dict().items()
        }
        arrays["item_vectors"] = self._item_vectors()[1:].float().cpu().numpy()
        if self.features is not None:
            arrays["features_indptr"] = self.features.indptr.astype(np.int64)
            arrays["features_indices"] = self.features.indices.astype(np.int64)
            arrays["features_data"] = self.features.data.astype(np.float32)
            arrays["features_shape"] = np.asarray(self.features.shape, np.int64)
        if self.trained_until is not None:
            arrays["trained_until"] = np.asarray(self.trained_until, np.float64)
        return Artifact(
            self.name, "sequence", arrays, {**self.params(), "weight_edges": list(WEIGHT_EDGES)}
        )

    @classmethod
    def from_artifact(cls, artifact: Artifact, device: str | torch.device = "auto") -> SASRec:
        """Restore a saved model, e.g. to warm-start the next fit or to score offline."""
        settings = {key: value for key, value in artifact.params.items() if key != "weight_edges"}
        model = cls(**settings, device=device)
        arrays = artifact.arrays
        if "features_shape" in arrays:
            model.features = sp.csr_matrix(
                (arrays["features_data"], arrays["features_indices"], arrays["features_indptr"]),
                shape=tuple(arrays["features_shape"]),
            )
        if "trained_until" in arrays:
            model.trained_until = float(arrays["trained_until"])
        n_items = arrays["item_bias"].shape[0]
        with _seeded(model.seed):
            network = _Encoder(
                n_items,
                0 if model.features is None else model.features.shape[1],
                model.dim,
                model.blocks,
                model.heads,
                model.max_len,
                len(WEIGHT_EDGES) + 1,
                model.dropout,
            )
        network.load_state_dict(
            {key: torch.from_numpy(np.asarray(arrays[key])) for key in network.state_dict()}
        )
        model.network = network.to(model.device).eval()
        return model


def _recent_windows(
    sequences: Sequence[np.ndarray], kinds: Sequence[np.ndarray], max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """The latest ``max_len`` items (+ 1; 0 pads on the left) and kinds of each sequence."""
    items = np.zeros((len(sequences), max_len), np.int64)
    buckets = np.zeros((len(sequences), max_len), np.int64)
    for row, (sequence, kind) in enumerate(zip(sequences, kinds, strict=True)):
        tail = sequence[-max_len:]
        if len(tail):
            items[row, -len(tail) :] = tail + 1
            buckets[row, -len(tail) :] = kind[-max_len:]
    return items, buckets


def _latest_time(times: sp.csr_matrix | None) -> float | None:
    if times is None or not sp.csr_matrix(times).nnz:
        return None
    return float(sp.csr_matrix(times).data.max())


def _training_windows(
    sequences: Sequence[np.ndarray], kinds: Sequence[np.ndarray], max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``max_len + 1`` items from the end of each sequence of two items or more,
    consecutive windows sharing one item: every item is a target once (the first excepted)."""
    starts: list[tuple[int, int, int]] = []
    for row, sequence in enumerate(sequences):
        stop = len(sequence)
        while stop >= 2:
            start = max(0, stop - max_len - 1)
            starts.append((row, start, stop))
            stop = start + 1
    items = np.zeros((len(starts), max_len + 1), np.int64)
    buckets = np.zeros((len(starts), max_len + 1), np.int64)
    for window, (row, start, stop) in enumerate(starts):
        items[window, -(stop - start) :] = sequences[row][start:stop] + 1
        buckets[window, -(stop - start) :] = kinds[row][start:stop]
    return items, buckets


def _carried_features(
    features: sp.csr_matrix | None, previous: SASRec | None, n_items: int
) -> tuple[sp.csr_matrix | None, sp.csr_matrix | None]:
    """The side input of a warm start whose features were built on another vocabulary (the
    catalogue's text features are refitted each run, so their columns change): the previous
    features carry on, new items get empty rows there, and their embedding rows start from the
    old items most like them under the new features (returned second)."""
    if (
        previous is None
        or previous.features is None
        or features is None
        or previous.features.shape[1] == features.shape[1]
    ):
        return features, None
    old = sp.csr_matrix(previous.features, dtype=np.float32)
    padding = sp.csr_matrix((n_items - old.shape[0], old.shape[1]), dtype=np.float32)
    return sp.vstack([old, padding], format="csr"), sp.csr_matrix(features, dtype=np.float32)


def _features(features: sp.csr_matrix | None, previous: SASRec | None) -> sp.csr_matrix | None:
    if features is None:
        if previous is not None and previous.features is not None:
            raise ValueError("warm start was trained with item features: pass them again")
        return None
    features = sp.csr_matrix(features, dtype=np.float32)
    features.sort_indices()
    if (
        previous is not None
        and previous.features is not None
        and previous.features.shape[1] != features.shape[1]
    ):
        raise ValueError(
            "warm start was trained on other features "
            f"({previous.features.shape[1]} columns, now {features.shape[1]})"
        )
    return features


def _by_content(
    features: sp.csr_matrix, new: np.ndarray, old_items: int, old_rows: torch.Tensor, k: int = 10
) -> torch.Tensor:
    """Embeddings of ``new`` items: the similarity-weighted mean of their ``k`` most similar old
    items by content (small random when an item has no similar old one)."""
    similarity = (features[new] @ features[:old_items].T).toarray()
    rows = torch.randn(len(new), old_rows.shape[1]) * 0.02
    for row, values in enumerate(similarity):
        top = np.argsort(-values)[:k]
        top = top[values[top] > 0]
        if len(top):
            weights = torch.from_numpy(values[top] / values[top].sum()).float()
            rows[row] = weights @ old_rows[torch.from_numpy(top)]
    return rows


def _torch_csr(features: sp.csr_matrix | None, device: torch.device) -> torch.Tensor | None:
    if features is None:
        return None
    coo = features.tocoo()
    return torch.sparse_coo_tensor(
        torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64)),
        torch.from_numpy(coo.data.astype(np.float32)),
        size=coo.shape,
        device=device,
        check_invariants=False,
    ).coalesce()


@contextmanager
def _deterministic(enabled: bool) -> Iterator[None]:
    """Torch's deterministic kernels for the block, then the caller's setting back. Without them
    two CPU fits with one seed differ (a backward kernel accumulates in thread order); with them
    they are identical, at no measurable cost on the CPU."""
    if not enabled:
        yield
        return
    before = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Torch's global generator seeded for the block (initialisation, dropout), then restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
