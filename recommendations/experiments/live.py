"""The running experiments as serving sees them: cached in-process, assigned per visitor.

Serving asks :func:`assignment_for` on every request, so it must cost no query: the running
experiments are read at most every :data:`CACHE_SECONDS` (like merchandising rules) and saving
an experiment or a variant clears this process's copy at once. Nothing here may fail a page:
without the database there is no experiment (the control is served), and any other error is
logged and answered the same way.

Each visitor's first exposure to an experiment is recorded as an ``exposure`` event through the
app's event pipeline. Repeats are suppressed by ``SET NX EX`` in Redis (services mode) or by a
bounded in-process set (embedded mode, or while Redis is down); a repeat that slips through is
harmless, because the analysis uses each visitor's first exposure.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from recommendations import caches, redis_client
from recommendations.conf import app_settings
from recommendations.models import EventKind, Experiment, ExperimentVariant, VariantKind
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import emit

from . import tokens
from .assignment import assign

logger = logging.getLogger("recommendations.experiments")

#: Seconds the running experiments are reused before the database is asked again.
CACHE_SECONDS = 5.0
#: How long Redis remembers that a visitor was exposed; a later repeat is one more harmless row.
EXPOSURE_DEDUPE_SECONDS = 7 * 86_400
#: Visitors remembered per process where Redis does not remember them.
LOCAL_EXPOSURES = 100_000


@dataclass(frozen=True)
class LiveVariant:
    key: str
    kind: str
    weight: float
    model_version_id: int | None


@dataclass(frozen=True)
class LiveExperiment:
    pk: int
    key: str
    slots: frozenset[str]
    starts_at: datetime
    stops_at: datetime | None
    variants: tuple[LiveVariant, ...]

    def is_running(self, now: datetime) -> bool:
        return self.starts_at <= now and (self.stops_at is None or now < self.stops_at)


@dataclass(frozen=True)
class Assignment:
    """The variant a visitor's list is served under."""

    experiment_id: int
    variant_key: str
    kind: str
    model_version_id: int | None

    @property
    def holdout(self) -> bool:
        return self.kind == VariantKind.HOLDOUT

    @property
    def rules_off(self) -> bool:
        return self.kind == VariantKind.RULES_OFF

    @property
    def for_you_version(self) -> int | None:
        """The for-you model version to fold in instead of the active one (a deleted version
        leaves the variant serving as the control does)."""
        return self.model_version_id if self.kind == VariantKind.MODEL_VERSION else None

    @property
    def token_suffix(self) -> str:
        return tokens.suffix(self.experiment_id, self.variant_key)


class _Running:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expires = 0.0
        self._experiments: tuple[LiveExperiment, ...] = ()

    def get(self) -> tuple[LiveExperiment, ...]:
        if self._expires <= time.monotonic():
            try:
                experiments = _fetch()
            except DatabaseError as exc:
                # No experiment rather than a failed page; ask again a period later.
                logger.warning("Experiments unavailable (%s); serving the control", exc)
                experiments = ()
            with self._lock:
                self._experiments = experiments
                self._expires = time.monotonic() + CACHE_SECONDS
        return self._experiments

    def clear(self) -> None:
        with self._lock:
            self._expires = 0.0
            self._experiments = ()


_running = _Running()


_exposures = redis_client.SeenKeys(LOCAL_EXPOSURES)


def running_experiment(slot: str, now: datetime | None = None) -> LiveExperiment | None:
    """The experiment running on ``slot`` now, if any (at most one, ``Experiment.clean``)."""
    now = now or timezone.now()
    for experiment in _running.get():
        if slot in experiment.slots and experiment.is_running(now):
            return experiment
    return None


def assignment_for(
    slot: str, visitor_id: str | None, user_id: int | None, *, record: bool = True
) -> Assignment | None:
    """The variant this visitor's list in ``slot`` is served under, its exposure recorded; or
    ``None`` (serve as today): no experiment, no visitor cookie (a first request, tracking
    declined, a staff preview), or anything failing.

    With ``record=False`` the caller records the exposure itself: serving checks the exposure
    marker in the same round trip as the rest of what it reads (``serving/snapshot.py``) and then
    calls :func:`emit_exposure` or, when that round trip could not be made, :func:`record_exposure`.
    """
    if not visitor_id:
        return None
    try:
        experiment = running_experiment(slot)
        if experiment is None:
            return None
        variant = assign(experiment.key, [(v, v.weight) for v in experiment.variants], visitor_id)
        assignment = Assignment(experiment.pk, variant.key, variant.kind, variant.model_version_id)
        if record:
            record_exposure(assignment, slot, visitor_id, user_id)
        return assignment
    except DatabaseError as exc:
        logger.warning("Experiments unavailable (%s); serving the control", exc)
    except Exception:
        logger.exception("Experiment assignment failed; serving the control")
    return None


def record_exposure(
    assignment: Assignment, slot: str, visitor_id: str, user_id: int | None
) -> bool:
    """Emit the visitor's exposure event unless it was recorded already; whether it was new."""
    if not _first_exposure(assignment.experiment_id, visitor_id):
        return False
    emit_exposure(assignment, slot, visitor_id, user_id)
    return True


def emit_exposure(assignment: Assignment, slot: str, visitor_id: str, user_id: int | None) -> None:
    """Emit the exposure event of a visitor known to be exposed for the first time."""
    emit(
        [
            EventRecord(
                kind=int(EventKind.EXPOSURE),
                item_id="",
                visitor_id=visitor_id,
                user_id=user_id,
                context={
                    "experiment": assignment.experiment_id,
                    "variant": assignment.variant_key,
                    "slot": slot,
                },
            )
        ]
    )


def exposure_key(experiment_id: int, visitor_id: str) -> str:
    """The Redis key that says the visitor's exposure to the experiment is recorded."""
    return app_settings.key("experiments", "exposed", str(experiment_id), visitor_id)


def _first_exposure(experiment_id: int, visitor_id: str) -> bool:
    key = exposure_key(experiment_id, visitor_id)
    return redis_client.first_time(key, EXPOSURE_DEDUPE_SECONDS, _exposures)


def _fetch() -> tuple[LiveExperiment, ...]:
    now = timezone.now()
    rows = (
        Experiment.objects.filter(starts_at__isnull=False)
        .filter(Q(stops_at__isnull=True) | Q(stops_at__gt=now))
        .prefetch_related("variants")
    )
    experiments = []
    for row in rows:
        assert row.starts_at is not None  # filtered above
        variants = tuple(
            LiveVariant(v.key, v.kind, v.weight, v.model_version_id)
            for v in sorted(row.variants.all(), key=lambda v: v.pk)
        )
        if not any(v.kind == VariantKind.CONTROL for v in variants):
            logger.warning("Experiment %s has no control; not running it", row.key)
            continue
        experiments.append(
            LiveExperiment(
                row.pk, row.key, frozenset(row.slots), row.starts_at, row.stops_at, variants
            )
        )
    return tuple(experiments)


def clear_cache(**kwargs: Any) -> None:
    """Forget the running experiments read by this process (also a signal receiver)."""
    _running.clear()


def _experiments_changed(**kwargs: Any) -> None:
    caches.invalidate(caches.Change.EXPERIMENTS)


caches.register("running experiments", clear_cache, caches.Change.EXPERIMENTS)
caches.register("experiment exposures", _exposures.clear, caches.Change.EXPERIMENTS)
for _model in (Experiment, ExperimentVariant):
    post_save.connect(
        _experiments_changed, sender=_model, dispatch_uid="recommendations.experiments"
    )
    post_delete.connect(
        _experiments_changed, sender=_model, dispatch_uid="recommendations.experiments"
    )
