"""Which model version is active, and its artifact loaded once per process.

Everything here imports numpy and Django only, never torch: web processes use it to find and load
the active artifacts (:func:`load_active_artifact`, :func:`load_active_scorer`).

Promotion and rollback (:func:`activate`) send :data:`~recommendations.signals.model_promoted`
once the transaction has committed; a receiver in :mod:`recommendations.receivers` schedules the
``recommendations.precompute_lists`` task for the version (disconnect
``dispatch_uid="recommendations.precompute_after_promotion"`` to schedule it differently).
"""

from __future__ import annotations

import io
import threading
import zipfile
from functools import partial

from django.db import transaction
from django.utils import timezone

from recommendations import caches
from recommendations.engine.artifacts import Artifact, Scorer, load_artifact, load_scorer
from recommendations.models import ModelVersion
from recommendations.signals import model_promoted

Status = ModelVersion.Status


class RegistryError(ValueError):
    """A request the registry cannot carry out; the message says why, for staff to read."""


class ArtifactUnreadable(ValueError):
    """A version's file is missing, cut short or not an artifact at all."""


def active_version(scenario: str) -> ModelVersion | None:
    """The active version of ``scenario``, if any."""
    return ModelVersion.objects.filter(scenario=scenario, status=Status.ACTIVE).first()


def active_versions() -> dict[str, ModelVersion]:
    """Active version per scenario (scenarios without one are missing)."""
    return {v.scenario: v for v in ModelVersion.objects.filter(status=Status.ACTIVE)}


_cache_lock = threading.Lock()
_artifacts: dict[tuple[int, str | None], Artifact] = {}  # (pk, file name)
_CACHE_SIZE = 8


def load_version_artifact(version: ModelVersion) -> Artifact:
    """The version's artifact, read once per process (versions are immutable)."""
    key = (version.pk, version.artifact.name)
    with _cache_lock:
        cached = _artifacts.get(key)
    if cached is not None:
        return cached
    try:
        with version.artifact.open("rb") as handle:
            artifact = load_artifact(io.BytesIO(handle.read()))
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        # A truncated .npz raises BadZipFile or EOFError, a foreign file KeyError or ValueError:
        # callers handle one exception, whatever the file's fault.
        raise ArtifactUnreadable(f"{version.version}: {exc}") from exc
    with _cache_lock:
        while len(_artifacts) >= _CACHE_SIZE:
            _artifacts.pop(next(iter(_artifacts)))
        _artifacts[key] = artifact
    return artifact


def clear_cache() -> None:
    """Forget loaded artifacts (tests; a process that replaced files in place)."""
    with _cache_lock:
        _artifacts.clear()


caches.register("model artifacts", clear_cache)


def load_active_artifact(scenario: str) -> Artifact | None:
    """The active artifact of ``scenario`` (one indexed query, then the per-process cache)."""
    version = active_version(scenario)
    return None if version is None else load_version_artifact(version)


def load_active_scorer(scenario: str) -> Scorer | None:
    """A numpy scorer for the active version of ``scenario``: ``scorer.recommend(indices)`` with
    indices from ``artifact.item_keys``. For serving; no torch involved."""
    artifact = load_active_artifact(scenario)
    return None if artifact is None else load_scorer(artifact)


def lock_active(scenario: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.select_for_update()
        .filter(scenario=scenario, status=Status.ACTIVE)
        .first()
    )


def activate(version: ModelVersion, active: ModelVersion | None, reason: str) -> None:
    now = timezone.now()
    if active is not None:
        active.status = Status.RETIRED
        active.reason = f"replaced by {version.version}"
        active.save(update_fields=["status", "reason"])
    version.status = Status.ACTIVE
    version.reason = reason
    version.promoted_at = now
    version.save(update_fields=["status", "reason", "promoted_at"])
    transaction.on_commit(partial(caches.invalidate, caches.Change.MODELS))
    transaction.on_commit(
        partial(model_promoted.send, sender=ModelVersion, version=version), robust=True
    )
