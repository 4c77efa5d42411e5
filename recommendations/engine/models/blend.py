"""A blend of models: a weighted sum of each part's scores, standardised per user.

The families score on different scales (EASE's regression outputs, the sequential model's
logits), so each part's row of scores is standardised over the catalogue (mean 0, deviation 1)
before the weights apply: a weight then says how much a part counts, whatever its scale. The
weights are chosen on a validation split (:func:`~recommendations.engine.selection.select_blend`):
a co-occurrence model and a sequential one see different things (which items go together, which
comes next), and on Online Retail their blend beats either (docs/engine.md).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch

from ..artifacts import Artifact
from .base import Recommender, check_matrix
from .fitting import fit_model


def standardised(scores: torch.Tensor) -> torch.Tensor:
    """Each row minus its mean, over its standard deviation (a constant row becomes zeros)."""
    scores = scores.float()
    spread = scores.std(dim=1, keepdim=True)
    return (scores - scores.mean(dim=1, keepdim=True)) / torch.where(spread > 0, spread, 1.0)


#: Weights of the second part tried when a blend's weights are chosen on validation (the first
#: part gets the rest).
BLEND_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class Blend(Recommender):
    """``Σ weight · standardised(part scores)`` over fitted or unfitted ``parts``.

    ``weights=None`` leaves them to be chosen on a validation split (the model selection does
    that, see :func:`~recommendations.engine.selection.select_for_you`); until then the parts
    count equally."""

    name: ClassVar[str] = "blend"

    def __init__(
        self,
        parts: Sequence[Recommender],
        weights: Sequence[float] | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        if not parts or (weights is not None and len(parts) != len(weights)):
            raise ValueError("a blend needs one weight per part, and at least one part")
        super().__init__(device)
        self.parts = list(parts)
        self.tuned = weights is not None
        self.weights = (
            [float(weight) for weight in weights]
            if weights is not None
            else [1.0 / len(parts)] * len(parts)
        )

    @classmethod
    def from_params(
        cls,
        families: Mapping[str, type[Recommender]],
        parts: Sequence[str],
        part_params: Sequence[Mapping[str, Any]],
        weights: Sequence[float] | None = None,
        device: str | torch.device = "auto",
    ) -> Blend:
        """The blend that :meth:`params` describes, its parts rebuilt from ``families``."""
        built = []
        for name, settings in zip(parts, part_params, strict=True):
            family = families[name]
            accepted = inspect.signature(family).parameters
            built.append(
                family(**{k: v for k, v in settings.items() if k in accepted}, device=device)
            )
        return cls(built, weights, device=device)

    def params(self) -> dict[str, Any]:
        return {
            "parts": [part.name for part in self.parts],
            "weights": self.weights,
            "part_params": [part.params() for part in self.parts],
        }

    def fit(
        self,
        matrix: sp.csr_matrix,
        times: sp.csr_matrix | None = None,
        features: sp.csr_matrix | None = None,
        warm_start: Artifact | None = None,
    ) -> Self:
        """Fit every part on ``matrix`` (with the inputs each family takes). ``warm_start``, a
        blend artifact (or one model's), continues each part of the same family that can be
        warm-started from its saved state (the sequential model fine-tunes; the others fit from
        scratch, which costs them about as much)."""
        self.train = check_matrix(matrix)
        previous: list[Artifact] = []
        if warm_start is not None:
            previous = part_artifacts(warm_start) if warm_start.kind == "blend" else [warm_start]
        for part in self.parts:
            saved = next((artifact for artifact in previous if artifact.model == part.name), None)
            if saved is not None:
                fit_model(part, self.train, times=times, features=features, warm_start=saved)
            else:
                fit_model(part, self.train, times=times, features=features)
        return self

    def with_fitted(self, matrix: sp.csr_matrix) -> Self:
        """Use parts that are already fitted on ``matrix`` (a blend whose weights are tried in
        turn on one fit, or built from models fitted elsewhere)."""
        self.train = check_matrix(matrix)
        return self

    def score(self, history: sp.csr_matrix) -> torch.Tensor:
        return self._combine([part.score(history) for part in self.parts])

    def _score_users(self, users: np.ndarray, history: sp.csr_matrix) -> torch.Tensor:
        return self._combine([part._score_users(users, history) for part in self.parts])

    def to_artifact(self) -> Artifact:
        """Each part's arrays under ``<index>/``, the parts' own headers in ``params``: the numpy
        scorer (:class:`~recommendations.engine.artifacts.BlendScorer`) rebuilds each part's
        scorer and combines them as :meth:`score` does."""
        arrays: dict[str, np.ndarray] = {}
        headers = []
        for index, part in enumerate(self.parts):
            artifact = part.to_artifact()
            arrays.update({f"{index}/{key}": value for key, value in artifact.arrays.items()})
            headers.append(
                {"model": artifact.model, "kind": artifact.kind, "params": artifact.params}
            )
        return Artifact(self.name, "blend", arrays, {**self.params(), "part_artifacts": headers})

    def _combine(self, blocks: list[torch.Tensor]) -> torch.Tensor:
        total = torch.zeros_like(blocks[0], dtype=torch.float32, device=self.device)
        for weight, block in zip(self.weights, blocks, strict=True):
            if weight:
                total += weight * standardised(block.to(self.device))
        return total


def part_artifacts(artifact: Artifact) -> list[Artifact]:
    """The parts of a blend artifact, each as its own artifact (item keys shared)."""
    parts = []
    for index, header in enumerate(artifact.params.get("part_artifacts", [])):
        prefix = f"{index}/"
        arrays = {
            key[len(prefix) :]: value
            for key, value in artifact.arrays.items()
            if key.startswith(prefix)
        }
        parts.append(
            Artifact(header["model"], header["kind"], arrays, header["params"], artifact.item_keys)
        )
    return parts


def sequential_artifact(artifact: Artifact) -> Artifact | None:
    """The sequential model's artifact: ``artifact`` itself, or a blend's sequential part."""
    if artifact.kind == "sequence":
        return artifact
    if artifact.kind == "blend":
        return next((part for part in part_artifacts(artifact) if part.kind == "sequence"), None)
    return None


def trained_until(artifact: Artifact) -> float | None:
    """The latest interaction time a sequential checkpoint (or a blend's) was fitted on."""
    sequential = sequential_artifact(artifact)
    if sequential is None or "trained_until" not in sequential.arrays:
        return None
    return float(sequential.arrays["trained_until"])
