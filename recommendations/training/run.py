"""Training: events in the database → the engine → gated versions in the registry.

A run reads events into a :class:`~recommendations.training.state.TrainingState` (one row per user and
item, weights summed), hands it to :func:`recommendations.engine.pipeline.train`, saves one
:class:`~recommendations.models.ModelVersion` per scenario and lets the gate promote or reject
each. A *full* run reads every event and numbers users and items afresh. An *incremental* run reads
only the events stored since the previous run, adds them to that run's state, keeps its index
maps (new users and items are appended, nothing is renumbered) and continues the active for-you
version where its family allows (ALS from its factors, the sequential model fine-tuned on the users
with new events). Runs never overlap: a row in ``TrainingRun`` is the lock.

This module imports torch (through the engine); tasks and commands import it, web code must not.
"""

from __future__ import annotations

import io
import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from tqdm import tqdm

from recommendations.conf import app_settings
from recommendations.engine.artifacts import Artifact, save_artifact
from recommendations.engine.data import EventLog, Interactions, MatrixConfig, build_interactions
from recommendations.engine.indexmap import IndexMap
from recommendations.models import Event, EventKind, ModelVersion, TrainingRun
from recommendations.models.registry import METRIC
from recommendations.registry import (
    active_version,
    judge,
    load_version_artifact,
    prune_runs,
    prune_versions,
)
from recommendations.signals import training_state_saved
from recommendations.types import GATED_SCENARIOS, Scenario

from . import events, references
from .lease import training_lease
from .references import CONTENT_FAMILIES, candidate_for_version
from .state import TrainingState, latest_state, merge

if TYPE_CHECKING:  # the engine imports torch, which the web process never loads
    from recommendations.engine.pipeline import TrainedModels

logger = logging.getLogger("recommendations.training")

FULL, INCREMENTAL = TrainingRun.Kind.FULL.value, TrainingRun.Kind.INCREMENTAL.value
#: A user needs this many items to give one up for validation (the engine's leave-last-out).
VALIDATION_MIN_ITEMS = 3


class TrainingBusy(RuntimeError):
    """Another training run holds the lock."""


# --- Results -------------------------------------------------------------------------------------


@dataclass
class ScenarioOutcome:
    """What happened to one scenario's candidate."""

    scenario: str
    version_id: int
    version: str
    model: str
    metric: float | None
    popularity: float | None
    promoted: bool
    reason: str
    reference: str = ""
    reference_metric: float | None = None

    def describe(self) -> str:
        metric = "n/a" if self.metric is None else f"{self.metric:.4f}"
        popularity = "n/a" if self.popularity is None else f"{self.popularity:.4f}"
        verdict = "promoted" if self.promoted else "rejected"
        reference = ""
        if self.reference_metric is not None:
            reference = f", {self.reference} {self.reference_metric:.4f}"
        return (
            f"{self.scenario}: {self.version} ({self.model}) {METRIC} {metric}, "
            f"popularity {popularity}{reference}: {verdict}: {self.reason}"
        )


@dataclass
class TrainingResult:
    """A run's outcome: ``status`` is ``finished``, ``skipped`` or ``busy``; ``message`` says why
    in words staff can act on."""

    kind: str
    status: str
    message: str
    run_id: int | None = None
    events_read: int = 0
    event_count: int = 0
    users: int = 0
    items: int = 0
    seconds: float = 0.0
    scenarios: list[ScenarioOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- The run -------------------------------------------------------------------------------------


@contextmanager
def training_lock(kind: str, base: TrainingRun | None = None) -> Iterator[TrainingRun]:
    """A ``running`` TrainingRun row, unique by a partial constraint: a second run fails to
    insert it. The run also holds the training lease (:mod:`.lease`), so a run whose process
    died is marked failed by the next one at once; where the database has no lease, a run left
    running past ``TRAINING_LOCK_TIMEOUT`` is. The run is marked failed if the block raises."""
    with training_lease() as held:
        if held is False:
            raise TrainingBusy(_busy_message())
        abandoned = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING)
        if held is None:
            stale = timezone.now() - timedelta(seconds=app_settings.TRAINING_LOCK_TIMEOUT)
            abandoned = abandoned.filter(started_at__lt=stale)
            why = "abandoned: still marked running after TRAINING_LOCK_TIMEOUT"
        else:
            why = "abandoned: the process running it ended without finishing"
        abandoned.update(status=TrainingRun.Status.FAILED, finished_at=timezone.now(), message=why)
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(kind=kind, base=base)
        except IntegrityError:
            raise TrainingBusy(_busy_message()) from None
        try:
            yield run
        except BaseException as exc:
            run.status = TrainingRun.Status.FAILED
            run.message = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "message", "finished_at"])
            raise


def _busy_message() -> str:
    other = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).first()
    since = f" since {other.started_at:%Y-%m-%d %H:%M:%S %Z}" if other else ""
    number = other.pk if other else "?"
    return f"another training run (#{number}) is running{since}"


def train(kind: str = INCREMENTAL, *, progress: bool = False) -> TrainingResult:
    """Run one training (``"full"`` or ``"incremental"``) and gate its candidates.

    Raises :class:`TrainingBusy` when another run holds the lock. An incremental run with no
    earlier state runs as a full one; with no new events it does nothing.
    """
    if kind not in (FULL, INCREMENTAL):
        raise ValueError(f"unknown training kind {kind!r}; use {FULL!r} or {INCREMENTAL!r}")
    started = time.perf_counter()
    notes: list[str] = []
    base_state = latest_state() if kind == INCREMENTAL else None
    base_run, previous = base_state if base_state else (None, TrainingState.empty())
    if kind == INCREMENTAL and base_run is None:
        kind = FULL
        notes.append("no earlier training state: ran a full training")
    withdrawn = _withdrawn_orders(previous)
    if base_run is not None and withdrawn:
        notes.append(
            f"{withdrawn} order(s) in training #{base_run.pk}'s history were excluded since "
            "(refunded or cancelled): ran a full training"
        )
        kind, base_run, previous = FULL, None, TrainingState.empty()
    if base_run is not None and not _has_new_events(base_run.last_event_id):
        return TrainingResult(
            kind=kind,
            status="skipped",
            message=f"no new events since training #{base_run.pk}; active models kept",
            event_count=previous.event_count,
        )
    with training_lock(kind, base_run) as run:
        result = _run(run, previous, notes, progress)
    prune_versions()
    prune_runs()
    result.seconds = round(time.perf_counter() - started, 3)
    logger.info("Training #%s (%s): %s", result.run_id, kind, result.message)
    return result


def _withdrawn_orders(state: TrainingState) -> int:
    """How many orders of ``state`` the adapter excludes now. Their purchases are summed into
    the state's pair weights and cannot be taken out of them, so such a state is not continued:
    the run reads everything again, without those orders."""
    if not len(state.order_keys):
        return 0
    excluded = events.excluded_orders()
    return int(np.isin(state.order_keys, list(excluded)).sum()) if excluded else 0


def _has_new_events(last_id: int | None) -> bool:
    kinds = set(events.kind_weights()) | {int(EventKind.VIEW), int(EventKind.PURCHASE)}
    return Event.objects.filter(pk__gt=last_id or 0, kind__in=kinds).exclude(item_id="").exists()


def _run(
    run: TrainingRun, previous: TrainingState, notes: list[str], progress: bool
) -> TrainingResult:
    until = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    since = run.base.last_event_id if run.base else None
    batch = events.read_events(since, until, progress=progress)
    state = merge(previous, batch, app_settings.TRAINING_HALF_LIFE_DAYS)
    run.events_read = len(batch)
    run.event_count = state.event_count
    run.last_event_id = until if until is not None else since
    run.users, run.items = len(state.user_keys), len(state.item_keys)
    if len(state):
        run.first_event_at = _datetime(float(state.pair_times.min()))
        run.last_event_at = _datetime(state.reference_time)
    result = TrainingResult(
        kind=run.kind,
        status="finished",
        message="",
        run_id=run.pk,
        events_read=run.events_read,
        event_count=run.event_count,
        users=run.users,
        items=run.items,
    )
    excluded = events.excluded_users()  # asked once: the check and the fit leave out the same
    too_few = _too_few(state, excluded)
    trained = None
    if too_few:
        result.status = "skipped"
        notes.append(too_few)
    else:
        trained = _fit(run, state, previous, excluded)
        state.user_map = trained.interactions.user_map.to_array()
        state.item_map = trained.interactions.item_map.to_array()
    # Saved before any promotion: precompute reads the newest state for users' histories.
    run.state.save(f"states/run-{run.pk}.npz", state.save(), save=False)
    run.save()
    training_state_saved.send(sender=TrainingRun, run=run, state=state)
    if trained is not None:
        result.scenarios = _register(run, state, trained, progress)
        promoted = sum(outcome.promoted for outcome in result.scenarios)
        notes.append(f"{promoted} of {len(result.scenarios)} candidates promoted")
    result.message = "; ".join(notes)
    run.status = result.status
    run.message = result.message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "message", "finished_at"])
    return result


def _too_few(state: TrainingState, excluded: set[str]) -> str:
    """Why there is too little to validate without the ``excluded`` users, or "" when there is
    enough."""
    if len(state) == 0:
        return "no events to learn from yet: popularity kept"
    keep = ~np.isin(state.user_keys[state.pair_users], list(excluded)) if excluded else slice(None)
    counts = np.bincount(state.pair_users[keep], minlength=len(state.user_keys))
    users = int((counts > 0).sum())
    validating = int((counts >= VALIDATION_MIN_ITEMS).sum())
    needed = int(app_settings.TRAINING_MIN_VALIDATION_USERS)
    if validating >= needed:
        return ""
    return (
        f"{state.event_count} events from {users} users: too few to validate (needs {needed} "
        f"users with {VALIDATION_MIN_ITEMS} or more items, found {validating}); popularity kept"
    )


def _fit(
    run: TrainingRun, state: TrainingState, previous: TrainingState, excluded: set[str]
) -> TrainedModels:
    from recommendations.engine.pipeline import train as engine_train

    incremental = run.kind == INCREMENTAL
    user_map = IndexMap.from_array(previous.user_map) if incremental else None
    item_map = IndexMap.from_array(previous.item_map) if incremental else None
    log = event_log(state)
    orders = None
    if len(state.line_orders):
        orders = EventLog(
            users=state.order_keys[state.line_orders],
            items=state.item_keys[state.line_items],
            timestamps=state.line_times,
            weights=np.ones(len(state.line_orders), np.float32),
        )
    config = MatrixConfig(max_weight=app_settings.TRAINING_MAX_WEIGHT, pair_time="first")
    chosen: dict[str, list[ModelVersion]] = {
        scenario: references.reference_versions(scenario) for scenario in GATED_SCENARIOS
    }
    # Reading the catalogue is a tenth of an incremental run; it only serves content models.
    # New products get content neighbours when saved (precompute.refresh_content_neighbours).
    needs_content = not incremental or any(
        version.model in CONTENT_FAMILIES for versions in chosen.values() for version in versions
    )
    return engine_train(
        log,
        config=config,
        user_map=user_map,
        item_map=item_map,
        exclude_users=excluded,
        orders=orders,
        catalogue=(events.catalogue_texts() or None) if needs_content else None,
        candidates=references.incremental_candidates(chosen) if incremental else None,
        references={
            scenario: {str(version.pk): candidate_for_version(version) for version in versions}
            for scenario, versions in chosen.items()
        },
        warm_start=_warm_start(previous) if incremental else None,
        sequential_min_users=(
            int(app_settings.SEQUENTIAL_MIN_USERS) if app_settings.SEQUENTIAL_MODEL else None
        ),
        time_budget_s=float(app_settings.TRAINING_TIME_BUDGET),
        device=app_settings.TRAINING_DEVICE,
    )


def event_log(state: TrainingState) -> EventLog:
    """The engine's input for a state: one entry per (user, item) pair, with stable tie-breaks."""
    users, items = state.user_keys[state.pair_users], state.item_keys[state.pair_items]
    return EventLog(
        users=users,
        items=items,
        timestamps=state.pair_times + tie_breaks(users, items),
        weights=state.pair_weights.astype(np.float32),
    )


def store_interactions(*, progress: bool = False) -> Interactions | None:
    """Every stored event as the matrix training builds (same kind weights, cap and ties), for
    offline evaluation on the store's own data; ``None`` when there are no events."""
    state = merge(
        TrainingState.empty(),
        events.read_events(progress=progress),
        app_settings.TRAINING_HALF_LIFE_DAYS,
    )
    if len(state) == 0:
        return None
    config = MatrixConfig(max_weight=app_settings.TRAINING_MAX_WEIGHT, pair_time="first")
    return build_interactions(event_log(state), config)


def tie_breaks(users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """A sub-millisecond offset per (user, item) pair, the same in every run.

    Validation holds out each user's latest item. Items bought in one order share a timestamp,
    and the engine breaks such ties by a shuffle that changes whenever the matrix gains a cell,
    so two runs on nearly the same data would validate on different held-out items. With offsets
    that depend on the keys only, a run and a refit on the same events hold out the same items
    (``bench/incremental.py`` compares them), and a user's held-out item changes only when the
    user does something new. Keys are hashed once each (CRC-32), then mixed per pair.
    """
    user_keys, user_codes = np.unique(users, return_inverse=True)
    item_keys, item_codes = np.unique(items, return_inverse=True)
    user_hash = _crc32(user_keys)[user_codes.ravel()]
    item_hash = _crc32(item_keys)[item_codes.ravel()]
    mixed = (user_hash * np.uint64(0x9E3779B1) + item_hash) * np.uint64(0x85EBCA77)
    mixed = (mixed ^ (mixed >> np.uint64(29))) & np.uint64(0xFFFFFFFF)
    return mixed.astype(np.float64) * (1e-3 / 2**32)


def _crc32(keys: np.ndarray) -> np.ndarray:
    return np.fromiter(
        (zlib.crc32(str(key).encode()) for key in keys.tolist()), np.uint64, len(keys)
    )


def _warm_start(previous: TrainingState) -> Artifact | None:
    """The active for-you artifact an incremental refit continues from, when its rows line up
    with the previous maps: ALS (user and item rows), the sequential model or a blend holding
    one (item rows; it fine-tunes on the users with new events)."""
    active = active_version(Scenario.FOR_YOU)
    if active is None or active.model not in WARM_STARTED_FAMILIES:
        return None
    artifact = load_version_artifact(active)
    items = artifact.item_keys
    if items is None or not _is_prefix(items, previous.item_map):
        return None
    if active.model != "als":
        return artifact
    users = artifact.arrays.get("user_keys")
    if users is None or "user_factors" not in artifact.arrays:
        return None
    return artifact if _is_prefix(users, previous.user_map) else None


#: Families whose incremental refit continues from the active artifact.
WARM_STARTED_FAMILIES = frozenset({"als", "sasrec", "blend"})


def _is_prefix(keys: np.ndarray, of: np.ndarray) -> bool:
    return len(keys) <= len(of) and bool(np.array_equal(keys, of[: len(keys)]))


def _register(
    run: TrainingRun, state: TrainingState, trained: Any, progress: bool
) -> list[ScenarioOutcome]:
    """One version per scenario, each judged by the gate."""
    report = trained.report()
    artifacts = trained.artifacts()
    outcomes = []
    for scenario, artifact in tqdm(
        artifacts.items(), desc="Saving versions", disable=not progress, leave=False
    ):
        info = report["scenarios"].get(scenario)
        if "user_factors" in artifact.arrays:
            artifact.arrays["user_keys"] = trained.interactions.user_map.to_array()
        version = _save_version(run, state, scenario, artifact, info, report)
        decision = judge(version)
        outcomes.append(
            ScenarioOutcome(
                scenario=scenario,
                version_id=version.pk,
                version=version.version,
                model=version.model,
                metric=version.metric,
                popularity=version.popularity_metric,
                promoted=decision.promote,
                reason=decision.reason,
                reference=version.reference.version if version.reference else "",
                reference_metric=version.reference_metric,
            )
        )
    return outcomes


def _save_version(
    run: TrainingRun,
    state: TrainingState,
    scenario: str,
    artifact: Artifact,
    info: dict[str, Any] | None,
    report: dict[str, Any],
) -> ModelVersion:
    metrics: dict[str, Any] = {"metric": METRIC}
    metric = None
    reference, reference_metric = None, None
    if info is not None:
        metric = info["validation"].get(METRIC)
        popularity = next(
            (t["metrics"] for t in info["trials"] if t["name"] == "popularity" and t["metrics"]),
            None,
        )
        scored = _scored_references(info.get("references", {}))
        if scored:
            reference, reference_metric = max(scored, key=lambda pair: pair[1])
        metrics.update(
            validation=info["validation"],
            popularity=popularity,
            trials=info["trials"],
            references={version.version: value for version, value in scored},
        )
    content = _artifact_bytes(artifact)
    with transaction.atomic():
        version = ModelVersion.objects.create(
            scenario=scenario,
            model=artifact.model,
            version=f"pending-{run.pk}-{scenario}",
            params=artifact.params,
            metric=metric,
            metrics=metrics,
            data_first_at=run.first_event_at,
            data_last_at=run.last_event_at,
            event_count=state.event_count,
            users=int(report["users"]),
            items=int(report["items"]),
            run=run,
            reference=reference,
            reference_metric=reference_metric,
        )
        version.version = f"{artifact.model}-{version.pk}"
        version.artifact.save(f"{scenario}/{version.version}.npz", content, save=False)
        version.save(update_fields=["version", "artifact"])
    return version


def _scored_references(references: dict[str, Any]) -> list[tuple[ModelVersion, float]]:
    """(version, its configuration's metric on this split) for the references that were scored
    and still exist."""
    values = {
        int(label): float(trial["metrics"][METRIC])
        for label, trial in references.items()
        if trial["metrics"] and METRIC in trial["metrics"]
    }
    versions = ModelVersion.objects.in_bulk(list(values))
    return [(versions[pk], value) for pk, value in values.items() if pk in versions]


def _artifact_bytes(artifact: Artifact) -> ContentFile:
    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    return ContentFile(buffer.getvalue())


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
