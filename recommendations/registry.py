"""Model versions: which one is active, the promotion gate, rollback, and the training state.

Everything here imports numpy and Django only, never torch: web processes use it to find and load
the active artifacts (:func:`load_active_artifact`, :func:`load_active_scorer`) and staff roll back
from admin. Training (torch) lives in :mod:`recommendations.training`.

Promotion and rollback send :data:`~recommendations.signals.model_promoted` once the transaction
has committed; a receiver in :mod:`recommendations.receivers` schedules the
``recommendations.precompute_lists`` task for the version (disconnect
``dispatch_uid="recommendations.precompute_after_promotion"`` to schedule it differently).
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from .conf import app_settings
from .engine.artifacts import Artifact, Scorer, load_artifact, load_scorer, write_npz
from .models import ModelVersion, Scenario, TrainingRun
from .models.registry import METRIC
from .signals import model_promoted

logger = logging.getLogger("recommendations.training")

Status = ModelVersion.Status


class RegistryError(ValueError):
    """A request the registry cannot carry out; the message says why, for staff to read."""


# --- Finding and loading active versions -------------------------------------------------------


def active_version(scenario: str) -> ModelVersion | None:
    """The active version of ``scenario``, if any."""
    return ModelVersion.objects.filter(scenario=scenario, status=Status.ACTIVE).first()


def active_versions() -> dict[str, ModelVersion]:
    """Active version per scenario (scenarios without one are missing)."""
    return {v.scenario: v for v in ModelVersion.objects.filter(status=Status.ACTIVE)}


_cache_lock = threading.Lock()
_artifacts: dict[tuple[int, str], Artifact] = {}
_CACHE_SIZE = 8


def load_version_artifact(version: ModelVersion) -> Artifact:
    """The version's artifact, read once per process (versions are immutable)."""
    key = (version.pk, version.artifact.name)
    with _cache_lock:
        cached = _artifacts.get(key)
    if cached is not None:
        return cached
    with version.artifact.open("rb") as handle:
        artifact = load_artifact(io.BytesIO(handle.read()))
    with _cache_lock:
        while len(_artifacts) >= _CACHE_SIZE:
            _artifacts.pop(next(iter(_artifacts)))
        _artifacts[key] = artifact
    return artifact


def clear_cache() -> None:
    """Forget loaded artifacts (tests; a process that replaced files in place)."""
    with _cache_lock:
        _artifacts.clear()


def load_active_artifact(scenario: str) -> Artifact | None:
    """The active artifact of ``scenario`` (one indexed query, then the per-process cache)."""
    version = active_version(scenario)
    return None if version is None else load_version_artifact(version)


def load_active_scorer(scenario: str) -> Scorer | None:
    """A numpy scorer for the active version of ``scenario``: ``scorer.recommend(indices)`` with
    indices from ``artifact.item_keys``. For serving; no torch involved."""
    artifact = load_active_artifact(scenario)
    return None if artifact is None else load_scorer(artifact)


# --- The gate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


@dataclass(frozen=True)
class Comparison:
    """The numbers one promotion decision compares, all measured on the candidate's validation
    split: the candidate, popularity, and the best reference (the active version's and recent
    versions' configurations refitted on that split), named by ``reference_version``."""

    candidate: float | None
    popularity: float | None = None
    reference: float | None = None
    reference_version: str = ""


def decide(comparison: Comparison, tolerance: float) -> Decision:
    """Promote when the candidate's validation NDCG@10 is not below popularity's, and not below
    the best reference's by more than ``tolerance`` (relative). Every number comes from one
    split, so the decision never compares runs that validated on different held-out items."""
    candidate, popularity, reference = (
        comparison.candidate,
        comparison.popularity,
        comparison.reference,
    )
    name = METRIC.upper()
    if candidate is None:
        return Decision(True, "no validation metric for this scenario: the newest version is used")
    if popularity is not None and candidate < popularity - 1e-12:
        return Decision(
            False,
            f"{name} {candidate:.4f} is below popularity's {popularity:.4f} on the same "
            "validation split",
        )
    versus_popularity = (
        f"popularity {popularity:.4f}" if popularity is not None else "popularity not measured"
    )
    if reference is None:
        return Decision(
            True,
            f"{name} {candidate:.4f} (vs {versus_popularity}); no earlier version to compare with",
        )
    floor = reference * (1.0 - tolerance)
    if candidate < floor - 1e-12:
        return Decision(
            False,
            f"{name} {candidate:.4f} is worse than {comparison.reference_version}'s "
            f"{reference:.4f} on the same validation split (tolerance {tolerance:.0%}: needs at "
            f"least {floor:.4f})",
        )
    return Decision(
        True,
        f"{name} {candidate:.4f} vs {comparison.reference_version} {reference:.4f} on the same "
        f"validation split (tolerance {tolerance:.0%}) and {versus_popularity}",
    )


def comparison_for(version: ModelVersion) -> Comparison:
    """The numbers recorded on ``version`` for its gate."""
    return Comparison(
        candidate=version.metric,
        popularity=version.popularity_metric,
        reference=version.reference_metric,
        reference_version=version.reference.version if version.reference else "",
    )


def judge(version: ModelVersion) -> Decision:
    """Promote ``version`` or reject it, with the reason recorded on it."""
    with transaction.atomic():
        active = _lock_active(version.scenario)
        decision = decide(comparison_for(version), app_settings.PROMOTION_TOLERANCE)
        if decision.promote:
            _activate(version, active, decision.reason)
        else:
            version.status = Status.REJECTED
            version.reason = decision.reason
            version.save(update_fields=["status", "reason"])
    return decision


def rollback(scenario: str, to: int | None = None, *, force: bool = False) -> ModelVersion:
    """Make an earlier version active again: ``to`` (a version id), or by default the version
    that was active before the current one. Raises :class:`RegistryError` with a message for
    an unknown scenario or version, and for a version the gate rejected unless ``force``:
    nothing changes then."""
    if scenario not in Scenario.values:
        raise RegistryError(
            f"unknown scenario {scenario!r}; expected one of {', '.join(Scenario.values)}"
        )
    with transaction.atomic():
        active = _lock_active(scenario)
        if to is None:
            target = _previous_active(scenario, active)
            if target is None:
                raise RegistryError(
                    f"no earlier {scenario} version has been active; pass a version id"
                )
        else:
            target = ModelVersion.objects.select_for_update().filter(pk=to).first()
            if target is None:
                raise RegistryError(f"no model version with id {to}")
            if target.scenario != scenario:
                raise RegistryError(
                    f"version {to} ({target.version}) is a {target.scenario} version, "
                    f"not {scenario}"
                )
            if active is not None and target.pk == active.pk:
                raise RegistryError(f"version {to} ({target.version}) is already active")
        if not target.artifact or not target.artifact.storage.exists(target.artifact.name):
            raise RegistryError(f"version {target.pk} ({target.version}) has no artifact file")
        if target.status == Status.REJECTED and not force:
            raise RegistryError(rejected_warning(target))
        reason = f"rolled back from {active.version}" if active else "rolled back"
        if target.status == Status.REJECTED:
            reason += f", overriding the gate's rejection ({target.reason})"
        _activate(target, active, reason)
    return target


def rejected_warning(version: ModelVersion) -> str:
    """Why activating a rejected version needs to be confirmed."""
    return (
        f"version {version.pk} ({version.version}) was rejected by the promotion gate: "
        f"{version.reason}. Activate it anyway only if you know why (--force, or confirm in "
        "admin)."
    )


def _lock_active(scenario: str) -> ModelVersion | None:
    return (
        ModelVersion.objects.select_for_update()
        .filter(scenario=scenario, status=Status.ACTIVE)
        .first()
    )


def _previous_active(scenario: str, active: ModelVersion | None) -> ModelVersion | None:
    earlier = ModelVersion.objects.filter(
        scenario=scenario, status=Status.RETIRED, promoted_at__isnull=False
    )
    if active is not None:
        earlier = earlier.exclude(pk=active.pk)
    return earlier.order_by("-promoted_at", "-pk").first()


def _activate(version: ModelVersion, active: ModelVersion | None, reason: str) -> None:
    now = timezone.now()
    if active is not None:
        active.status = Status.RETIRED
        active.reason = f"replaced by {version.version}"
        active.save(update_fields=["status", "reason"])
    version.status = Status.ACTIVE
    version.reason = reason
    version.promoted_at = now
    version.save(update_fields=["status", "reason", "promoted_at"])
    transaction.on_commit(
        partial(model_promoted.send, sender=ModelVersion, version=version), robust=True
    )


# --- Keeping the registry small -----------------------------------------------------------------


def prune_versions(keep: int | None = None) -> int:
    """Delete versions beyond the newest ``keep`` per scenario (``KEEP_VERSIONS``), never the
    active one, with their artifact files. Returns how many were deleted."""
    keep = app_settings.KEEP_VERSIONS if keep is None else keep
    if keep is None:
        return 0
    deleted = 0
    for scenario in Scenario.values:
        old = (
            ModelVersion.objects.filter(scenario=scenario)
            .exclude(status=Status.ACTIVE)
            .order_by("-created", "-pk")[keep:]
        )
        for version in list(old):
            _delete_file(version.artifact)
            version.delete()
            deleted += 1
    return deleted


def prune_runs(keep_states: int = 2, keep_runs: int = 500) -> None:
    """Drop the state files of all but the newest ``keep_states`` runs that have one (only the
    newest is read again, by the next incremental run and by precompute), and runs beyond the
    newest ``keep_runs`` that no version points to."""
    with_state = TrainingRun.objects.exclude(state="").order_by("-pk")
    for run in list(with_state[keep_states:]):
        _delete_file(run.state)
        run.state = ""
        run.save(update_fields=["state"])
    cutoff = TrainingRun.objects.order_by("-pk").values_list("pk", flat=True)[
        keep_runs : keep_runs + 1
    ]
    if cutoff:
        TrainingRun.objects.filter(pk__lte=cutoff[0], versions=None).exclude(
            status=TrainingRun.Status.RUNNING
        ).delete()


def _delete_file(field: Any) -> None:
    if field and field.name:
        try:
            field.storage.delete(field.name)
        except OSError:
            logger.warning("Could not delete %s", field.name, exc_info=True)


# --- Training state -----------------------------------------------------------------------------


@dataclass
class TrainingState:
    """The interaction history a run trained on, aggregated so that the next incremental run can
    add new events to it without reading old ones again.

    Pairs are codes into ``user_keys`` / ``item_keys``. ``pair_weights`` are the summed event
    weights of each pair, decayed to ``reference_time`` and not yet capped: with summing, decay
    to a later reference is one multiplication, so merging stays exact. ``pair_times`` are each
    pair's first event. ``views`` are the (user, item) pairs with a view, for also-viewed lists;
    ``lines`` are (order, item) pairs of purchases, for bought-together. ``user_map`` /
    ``item_map`` are the engine's index maps after the run: incremental runs append to them.
    """

    user_keys: np.ndarray
    item_keys: np.ndarray
    pair_users: np.ndarray
    pair_items: np.ndarray
    pair_weights: np.ndarray
    pair_times: np.ndarray
    view_users: np.ndarray
    view_items: np.ndarray
    order_keys: np.ndarray
    line_orders: np.ndarray
    line_items: np.ndarray
    line_times: np.ndarray
    user_map: np.ndarray
    item_map: np.ndarray
    reference_time: float = 0.0
    event_count: int = 0

    @classmethod
    def empty(cls) -> TrainingState:
        keys, codes, times = np.empty(0, np.str_), np.empty(0, np.int64), np.empty(0)
        return cls(
            user_keys=keys,
            item_keys=keys,
            pair_users=codes,
            pair_items=codes,
            pair_weights=times,
            pair_times=times,
            view_users=codes,
            view_items=codes,
            order_keys=keys,
            line_orders=codes,
            line_items=codes,
            line_times=times,
            user_map=keys,
            item_map=keys,
        )

    def __len__(self) -> int:
        return len(self.pair_users)

    def save(self) -> ContentFile:
        buffer = io.BytesIO()
        write_npz(buffer, {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        return ContentFile(buffer.getvalue())

    @classmethod
    def load(cls, source: Any) -> TrainingState:
        with np.load(source, allow_pickle=False) as npz:
            values = {f.name: npz[f.name] for f in fields(cls)}
        values["reference_time"] = float(values["reference_time"])
        values["event_count"] = int(values["event_count"])
        return cls(**values)


def latest_state() -> tuple[TrainingRun, TrainingState] | None:
    """The newest run that saved a state, and that state."""
    run = TrainingRun.objects.exclude(state="").order_by("-pk").first()
    if run is None:
        return None
    with run.state.open("rb") as handle:
        return run, TrainingState.load(io.BytesIO(handle.read()))
