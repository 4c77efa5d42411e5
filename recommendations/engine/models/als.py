"""Implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
Datasets", ICDM 2008), solved with batched conjugate gradient in torch.

Every cell of the user x item matrix is a preference ``p = [r > 0]`` with confidence
``c = 1 + alpha·r`` (1 for empty cells). Each half-step solves, for all users (then all items) at once,
``(YᵀY + λI + Yᵀ diag(c_u - 1) Y) x_u = Yᵀ c_u p_u`` with a few CG steps started from the previous
factors (Takács, Pilászy & Tikk 2011; the ``implicit`` library's default). The sparse part of the
matrix-vector product is two sparse kernels, a sampled dense-dense product (the dots ``x_u·y_i`` on
the non-zero cells) and a sparse-dense product, so no per-cell copy of the factors is ever built.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact, fold_in
from ..device import to_torch_csr, with_values
from .base import Recommender, check_matrix

_TINY = 1e-20


class ALS(Recommender):
    """Matrix factorisation for implicit feedback.

    ``fit(matrix, warm_start=previous)`` continues from an earlier model (an :class:`ALS` or its
    artifact): rows that existed keep their factors, rows appended since (new users, new items;
    index maps only ever append) start small and random. ``num_threads`` is the number of CPU
    threads of a fit (default: torch's thread count); a CUDA fit runs as one stream.
    """

    name: ClassVar[str] = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 1.0,
        alpha: float = 5.0,
        iterations: int = 15,
        cg_steps: int = 3,
        seed: int = 0,
        num_threads: int | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        super().__init__(device)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.cg_steps = cg_steps
        self.seed = seed
        self.num_threads = num_threads
        self.user_factors: torch.Tensor | None = None
        self.item_factors: torch.Tensor | None = None
        self._numpy_items: np.ndarray | None = None
        self._gram: np.ndarray | None = None

    @property
    def n_items(self) -> int:
        return self._factors()[1].shape[0]

    def params(self) -> dict[str, Any]:
        return {
            "factors": self.factors,
            "regularization": self.regularization,
            "alpha": self.alpha,
            "iterations": self.iterations,
            "cg_steps": self.cg_steps,
        }

    def fit(
        self,
        matrix: sp.csr_matrix,
        warm_start: ALS | Artifact | None = None,
        iterations: int | None = None,
    ) -> Self:
        self.train = check_matrix(matrix)
        on_cpu = self.device.type == "cpu"
        parts = (self.num_threads or torch.get_num_threads()) if on_cpu else 1
        with _threads(1 if on_cpu else None), ThreadPoolExecutor(parts) as pool:
            users, items = self._initial_factors(warm_start)
            by_user = _Side(self.train, self.alpha, self.device, parts)
            by_item = _Side(self.train.T.tocsr(), self.alpha, self.device, parts)
            for _ in range(self.iterations if iterations is None else iterations):
                users = self._solve(pool, by_user, users, items)
                items = self._solve(pool, by_item, items, users)
        self.user_factors, self.item_factors = users, items
        self._numpy_items = items.cpu().numpy()
        self._gram = _gram(items, self.regularization).cpu().double().numpy()
        return self

    def loss(self, matrix: sp.csr_matrix | None = None) -> float:
        """The training objective ``Σ c (p - x·y)² + λ(‖X‖² + ‖Y‖²)`` over all cells."""
        matrix = self._require_train() if matrix is None else check_matrix(matrix)
        users, items = self._factors()
        with torch.no_grad():
            everywhere = (users.T @ users * (items.T @ items)).sum()
            pattern = to_torch_csr(matrix, self.device)
            dots = torch.sparse.sampled_addmm(pattern, users, items.T.contiguous(), beta=0.0)
            dots = dots.values()
            confidence = 1.0 + self.alpha * pattern.values()
            observed = (confidence * (1.0 - dots) ** 2 - dots**2).sum()
            penalty = self.regularization * (users.square().sum() + items.square().sum())
        return float(everywhere + observed + penalty)

    def fold_in(self, items: Any, weights: Any = None) -> np.ndarray:
        """The user vector for one history (item indices, matrix values), exactly solved with
        numpy against the fitted item factors; no torch call on this path."""
        if self._numpy_items is None or self._gram is None:
            raise RuntimeError("ALS is not fitted")
        items = np.asarray(items, dtype=np.int64).ravel()
        weights = np.ones(len(items)) if weights is None else np.asarray(weights).ravel()
        return fold_in(self._numpy_items, self._gram, self.alpha, items, weights)

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        history = sp.csr_matrix(history)
        vectors = np.zeros((history.shape[0], self.factors), np.float32)
        for row, (lo, hi) in enumerate(itertools.pairwise(history.indptr)):
            vectors[row] = self.fold_in(history.indices[lo:hi], history.data[lo:hi])
        return torch.from_numpy(vectors).to(self.device) @ self._factors()[1].T

    def similar_scores(self, items: np.ndarray) -> torch.Tensor:
        unit = torch.nn.functional.normalize(self._factors()[1], dim=1)
        return unit[torch.from_numpy(np.asarray(items)).to(self.device)] @ unit.T

    def to_artifact(self, include_users: bool = True) -> Artifact:
        """Item factors and ``YᵀY + λI`` for fold-in; user factors too unless
        ``include_users=False`` (they are only needed to warm-start the next fit)."""
        users, items = self._factors()
        if self._gram is None:  # set with the factors, by fit and from_artifact
            raise RuntimeError("ALS is not fitted")
        arrays = {"item_factors": items.cpu().numpy(), "gram": self._gram}
        if include_users:
            arrays["user_factors"] = users.cpu().numpy()
        return Artifact(self.name, "factors", arrays, self.params())

    @classmethod
    def from_artifact(cls, artifact: Artifact, device: str | torch.device = "auto") -> ALS:
        """Restore the factors of a saved model, e.g. to warm-start the next fit."""
        params = artifact.params
        model = cls(
            factors=params["factors"],
            regularization=params["regularization"],
            alpha=params["alpha"],
            iterations=params["iterations"],
            cg_steps=params["cg_steps"],
            device=device,
        )
        items = torch.from_numpy(artifact.arrays["item_factors"]).to(model.device)
        users = artifact.arrays.get("user_factors")
        model.item_factors = items
        model.user_factors = (
            torch.from_numpy(users).to(model.device)
            if users is not None
            else torch.zeros((0, model.factors), device=model.device)
        )
        model._numpy_items = artifact.arrays["item_factors"]
        model._gram = artifact.arrays["gram"]
        return model

    def _score_users(self, users: np.ndarray, history: sp.csr_matrix) -> torch.Tensor:
        user_factors, item_factors = self._factors()
        return user_factors[torch.from_numpy(users).to(self.device)] @ item_factors.T

    def _factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.user_factors is None or self.item_factors is None:
            raise RuntimeError("ALS is not fitted")
        return self.user_factors, self.item_factors

    def _initial_factors(self, warm_start: ALS | Artifact | None) -> tuple[torch.Tensor, ...]:
        n_users, n_items = self._require_train().shape
        generator = torch.Generator().manual_seed(self.seed)
        previous_users = previous_items = None
        if isinstance(warm_start, ALS):
            previous_users, previous_items = warm_start._factors()
        elif isinstance(warm_start, Artifact):
            restored = ALS.from_artifact(warm_start, self.device)
            previous_users, previous_items = restored._factors()
        return (
            self._grow(previous_users, n_users, generator),
            self._grow(previous_items, n_items, generator),
        )

    def _grow(
        self, previous: torch.Tensor | None, rows: int, generator: torch.Generator
    ) -> torch.Tensor:
        fresh = torch.rand((rows, self.factors), generator=generator) * 0.01
        fresh = fresh.to(self.device)
        if previous is None:
            return fresh
        if previous.shape[1] != self.factors:
            raise ValueError(f"warm start has {previous.shape[1]} factors, not {self.factors}")
        if previous.shape[0] > rows:
            raise ValueError("warm start has more rows than the matrix: index maps must only grow")
        fresh[: previous.shape[0]] = previous.to(self.device, torch.float32)
        return fresh

    def _solve(
        self, pool: ThreadPoolExecutor, side: _Side, current: torch.Tensor, other: torch.Tensor
    ) -> torch.Tensor:
        """New factors for every row of one side, from ``current`` and the other side's factors.

        On the CPU the rows are cut into one block per thread (balanced by cells), each solved by
        single-threaded torch calls in its own Python thread: a block never waits for another,
        where thousands of small multi-threaded calls would each end in a barrier that stalls
        whenever another process holds a core.
        """
        gram = _gram(other, self.regularization)
        other_t = other.T  # a view: the sampled product reads it as rows of ``other``
        if len(side.parts) == 1:
            return self._conjugate_gradient(side.parts[0], current, other, other_t, gram)
        blocks = [
            pool.submit(self._conjugate_gradient, part, current[part.rows], other, other_t, gram)
            for part in side.parts
        ]
        return torch.cat([block.result() for block in blocks])

    def _conjugate_gradient(
        self,
        confidence: _Confidence,
        x: torch.Tensor,
        other: torch.Tensor,
        other_t: torch.Tensor,
        gram: torch.Tensor,
    ) -> torch.Tensor:
        """``cg_steps`` steps of CG on every row's normal equations at once, starting at ``x``."""
        extra = confidence.extra

        def hessian(vectors: torch.Tensor) -> torch.Tensor:
            weighted = torch.sparse.sampled_addmm(extra, vectors, other_t, beta=0.0)
            weighted.values().mul_(extra.values())
            return torch.addmm(vectors @ gram, weighted, other)

        residual = confidence.full @ other - hessian(x)
        direction = residual
        norm = torch.linalg.vecdot(residual, residual)
        for _ in range(self.cg_steps):
            product = hessian(direction)
            step = norm / torch.linalg.vecdot(direction, product).clamp_min(_TINY)
            x = torch.addcmul(x, step[:, None], direction)
            residual = torch.addcmul(residual, step[:, None], product, value=-1.0)
            new_norm = torch.linalg.vecdot(residual, residual)
            ratio = new_norm / norm.clamp_min(_TINY)
            direction = torch.addcmul(residual, ratio[:, None], direction)
            norm = new_norm
        return x


class _Side:
    """One side's confidence matrix, cut into row blocks of about equal cell counts."""

    def __init__(
        self, matrix: sp.csr_matrix, alpha: float, device: torch.device, parts: int
    ) -> None:
        cells = np.cumsum(np.diff(matrix.indptr))
        total = int(cells[-1]) if len(cells) else 0
        bounds = [0]
        for part in range(1, parts):
            bounds.append(max(bounds[-1], int(np.searchsorted(cells, total * part / parts))))
        bounds.append(matrix.shape[0])
        self.parts = [
            _Confidence(matrix[lo:hi], alpha, device, slice(lo, hi))
            for lo, hi in itertools.pairwise(bounds)
            if hi > lo
        ] or [_Confidence(matrix, alpha, device, slice(0, matrix.shape[0]))]


class _Confidence:
    """The two CSR tensors of one side: ``c = 1 + alpha·r`` (right-hand side) and ``c - 1 = alpha·r``
    (the sparse part of the system), sharing one pattern."""

    def __init__(
        self, matrix: sp.csr_matrix, alpha: float, device: torch.device, rows: slice
    ) -> None:
        self.rows = rows
        self.extra = to_torch_csr(matrix, device)
        self.extra = with_values(self.extra, self.extra.values() * alpha)
        self.full = with_values(self.extra, self.extra.values() + 1.0)


def _gram(factors: torch.Tensor, regularization: float) -> torch.Tensor:
    gram = factors.T @ factors
    gram.diagonal().add_(regularization)
    return gram


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
