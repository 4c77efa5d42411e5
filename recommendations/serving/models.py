"""Active model artifacts in the web process, for real-time scoring without torch.

The for-you slot folds the visitor's most recent items into the active for-you model at request
time (an ALS fold-in is one small linear solve; neighbour models sum rows; the sequential model
runs its two attention blocks in numpy over the last items), so a visitor's list
follows what they just did, before any retraining. Which version is active is looked up at most
every ``ACTIVE_MODEL_REFRESH_SECONDS``; artifacts are loaded once per version.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from django.db import DatabaseError

from recommendations import caches
from recommendations.conf import app_settings
from recommendations.engine.artifacts import Artifact, Scorer, load_scorer

if TYPE_CHECKING:
    from recommendations.models import ModelVersion

logger = logging.getLogger("recommendations.serving")


@dataclass(frozen=True)
class LoadedModel:
    label: str
    scorer: Scorer
    keys: np.ndarray
    index: dict[str, int]

    def recommend(self, recent: list[str], n: int) -> list[tuple[str, float]]:
        """Top ``n`` items for a visitor whose history is ``recent`` (newest first).

        Order-free models weigh the newest items most; a sequential model (or a blend with one)
        reads the items oldest first, as it was trained, and learnt for itself what recency means.
        """
        known = [(self.index[item], rank) for rank, item in enumerate(recent) if item in self.index]
        if not known:
            return []
        if self.scorer.ordered:
            known.reverse()
        items = np.array([i for i, _ in known], dtype=np.int64)
        weights = np.array([1.0 / (1.0 + 0.5 * rank) for _, rank in known], dtype=np.float32)
        top, scores = self.scorer.recommend(items, weights, n=n)
        return [
            (str(self.keys[i]), float(s))
            for i, s in zip(top, scores, strict=True)
            if np.isfinite(s)
        ]


class ActiveModels:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[str, float] = {}
        self._models: dict[str, LoadedModel | None] = {}
        self._failed: set[str] = set()
        self._versions: dict[int, LoadedModel | None] = {}

    def get(self, scenario: str) -> LoadedModel | None:
        now = time.monotonic()
        if now - self._checked.get(scenario, -1e9) < app_settings.ACTIVE_MODEL_REFRESH_SECONDS:
            return self._models.get(scenario)
        with self._lock:
            self._checked[scenario] = now
            self._models[scenario] = self._load(scenario, self._models.get(scenario))
            return self._models[scenario]

    def _load(self, scenario: str, current: LoadedModel | None) -> LoadedModel | None:
        from recommendations.registry import active_version, load_version_artifact

        self._failed.discard(scenario)
        try:
            version = active_version(scenario)
            if version is None:
                return None
            if current is not None and current.label == (version.version or str(version.pk)):
                return current
            artifact = load_version_artifact(version)
        except (DatabaseError, OSError, ValueError) as exc:  # ArtifactUnreadable is a ValueError
            logger.warning("Active %s model unavailable (%s); serving without it", scenario, exc)
            self._failed.add(scenario)
            return current
        return _loaded(version, artifact)

    def for_version(self, pk: int) -> LoadedModel | None:
        """A specific version's model (an experiment's variant), loaded once per process;
        ``None`` when it cannot be read, so the variant is served without a model."""
        with self._lock:
            if pk in self._versions:
                return self._versions[pk]
        from recommendations.models import ModelVersion
        from recommendations.registry import load_version_artifact

        try:
            version = ModelVersion.objects.get(pk=pk)
            model = _loaded(version, load_version_artifact(version))
        except DatabaseError as exc:  # asked again on the next request
            logger.warning("Model version %s unavailable (%s); serving without it", pk, exc)
            return None
        except (OSError, ValueError, ModelVersion.DoesNotExist) as exc:
            logger.warning("Model version %s unreadable (%s); serving without it", pk, exc)
            model = None
        with self._lock:
            self._versions[pk] = model
        return model

    def unavailable(self, scenario: str) -> bool:
        """Whether the last look for ``scenario``'s active model failed (the list it served is
        degraded: built without the model)."""
        return scenario in self._failed

    def clear(self) -> None:
        with self._lock:
            self._checked.clear()
            self._models.clear()
            self._failed.clear()
            self._versions.clear()


def _loaded(version: ModelVersion, artifact: Artifact) -> LoadedModel | None:
    if artifact.item_keys is None:
        return None
    keys = np.asarray(artifact.item_keys).astype(str)
    return LoadedModel(
        label=version.version or str(version.pk),
        scorer=load_scorer(artifact),
        keys=keys,
        index={key: i for i, key in enumerate(keys)},
    )


active_models = ActiveModels()
caches.register("active models", active_models.clear, caches.Change.MODELS)
