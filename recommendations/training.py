"""Training: events in the database → the engine → gated versions in the registry.

A run reads events into a :class:`~recommendations.registry.TrainingState` (one row per user and
item, weights summed), hands it to :func:`recommendations.engine.pipeline.train`, saves one
:class:`~recommendations.models.ModelVersion` per scenario and lets the gate promote or reject
each. A *full* run reads every event and numbers users and items afresh. An *incremental* run reads
only the events stored since the previous run, adds them to that run's state, keeps its index
maps (new users and items are appended, nothing is renumbered) and warm-starts ALS from the active
for-you version. Runs never overlap: a row in ``TrainingRun`` is the lock.

This module imports torch (through the engine); tasks and commands import it, web code must not.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, FloatField, Func, Max, Min
from django.db.models.fields.json import KT
from django.utils import timezone
from tqdm import tqdm

from .catalog import get_catalog
from .conf import app_settings
from .engine.artifacts import Artifact, save_artifact
from .engine.data import SECONDS_PER_DAY, EventLog, MatrixConfig
from .engine.indexmap import IndexMap
from .models import Event, EventKind, ModelVersion, TrainingRun
from .models.registry import METRIC, Scenario
from .precompute import refresh_also_viewed
from .registry import (
    TrainingState,
    active_version,
    judge,
    latest_state,
    load_version_artifact,
    prune_runs,
    prune_versions,
)

logger = logging.getLogger("recommendations.training")

FULL, INCREMENTAL = TrainingRun.Kind.FULL.value, TrainingRun.Kind.INCREMENTAL.value
#: A user needs this many items to give one up for validation (the engine's leave-last-out).
VALIDATION_MIN_ITEMS = 3


class TrainingBusy(RuntimeError):
    """Another training run holds the lock."""


# --- Hooks ---------------------------------------------------------------------------------------


def excluded_users() -> set[str]:
    """User keys (``"42"`` for user 42, ``"v:<visitor id>"`` for a visitor) whose behaviour must
    not train models: accounts flagged as bots or fraud. Applied at every run, so clearing a flag
    brings the user back. Asks the catalogue adapter (default: visitors flagged for bursts)."""
    return get_catalog().excluded_users()


def excluded_orders() -> set[str]:
    """Order ids (as text) whose purchases must not count: refunded or cancelled orders. Applied
    when events are read; an order excluded after a run read it makes the next run a full one.
    Asks the catalogue adapter (the store knows its refunds)."""
    return get_catalog().excluded_orders()


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


# --- Reading events ------------------------------------------------------------------------------


class UnixSeconds(Func):
    """A datetime column as Unix seconds, computed by the database: converting half a million
    datetimes in Python costs seconds on SQLite. Other vendors read datetimes."""

    output_field = FloatField()
    vendors = ("sqlite", "postgresql", "mysql")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_mysql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="UNIX_TIMESTAMP(%(expressions)s)", **extra
        )


@dataclass
class EventBatch:
    """Events as columns: user key, item key, Unix time, weight (kind weight x explicit weight,
    not decayed), whether it was a view, and the order id of purchases (else "")."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    weights: np.ndarray
    views: np.ndarray
    orders: np.ndarray
    last_id: int | None

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> EventBatch:
        return EventBatch(
            *(getattr(self, name)[mask] for name in _BATCH_COLUMNS), last_id=self.last_id
        )


_BATCH_COLUMNS = ("users", "items", "times", "weights", "views", "orders")


def kind_weights() -> dict[int, float]:
    """``TRAINING_WEIGHTS`` keyed by event kind number."""
    weights = {}
    for name, weight in app_settings.TRAINING_WEIGHTS.items():
        try:
            weights[int(EventKind.from_name(name))] = float(weight)
        except KeyError:
            raise ImproperlyConfigured(
                f"RECOMMENDATIONS['TRAINING_WEIGHTS'] names an unknown event kind {name!r}; "
                f"known: {', '.join(EventKind.names())}"
            ) from None
    return weights


def read_events(
    since_id: int | None = None, until_id: int | None = None, *, progress: bool = False
) -> EventBatch:
    """Events with ``since_id < pk <= until_id`` in chunks of ``TRAINING_READ_CHUNK``, as plain
    values (no model instances, no JSON decoding: the order id is extracted by the database)."""
    weights = kind_weights()
    kinds = sorted(set(weights) | {int(EventKind.VIEW), int(EventKind.PURCHASE)})
    # ``kind + 0`` keeps SQLite on the primary key range instead of the kind index, which would
    # sort every remaining event of those kinds for each chunk.
    query = (
        Event.objects.alias(kind_number=F("kind") + 0)
        .filter(kind_number__in=kinds)
        .exclude(item_id="")
        .annotate(order=KT("context__order"))
    )
    epoch = connection.vendor in UnixSeconds.vendors
    if epoch:
        query = query.annotate(seconds=UnixSeconds("ts"))
    columns = ("pk", "user_id", "visitor_id", "item_id", "kind", "value")
    columns += ("seconds" if epoch else "ts", "order")
    chunk = int(app_settings.TRAINING_READ_CHUNK)
    table = np.zeros(max(EventKind.values) + 1)
    for kind, weight in weights.items():
        table[kind] = weight
    ids = Event.objects.filter(pk__gt=since_id or 0)
    if until_id is not None:
        ids = ids.filter(pk__lte=until_id)
    bounds = ids.aggregate(low=Min("pk"), high=Max("pk"))
    parts: list[EventBatch] = []
    total = (bounds["high"] - bounds["low"] + 1) if bounds["low"] is not None else 0
    with tqdm(total=total, desc="Reading events", disable=not progress, leave=False) as bar:
        low = (bounds["low"] or 1) - 1
        while bounds["high"] is not None and low < bounds["high"]:
            high = min(low + chunk, bounds["high"])
            rows = list(query.filter(pk__gt=low, pk__lte=high).values_list(*columns))
            if rows:
                parts.append(_columns(rows, table))
            bar.update(high - low)
            low = high
    batch = _concatenate(parts)
    skip = excluded_orders()
    if skip and len(batch):
        batch = batch.select(~np.isin(batch.orders, list(skip)))
    return batch


def _columns(rows: list[tuple], weight_table: np.ndarray) -> EventBatch:
    _, user_ids, visitor_ids, items, kinds, values, stamps, orders = zip(*rows, strict=True)
    kind = np.asarray(kinds, dtype=np.int64)
    weights = weight_table[kind]
    ratings = np.flatnonzero(kind == EventKind.RATING)
    for row in ratings:
        weights[row] *= (values[row] if values[row] is not None else 5.0) / 5.0
    purchase = kind == EventKind.PURCHASE
    return EventBatch(
        users=np.asarray(
            [
                f"v:{visitor}" if user is None else str(user)
                for user, visitor in zip(user_ids, visitor_ids, strict=True)
            ],
            dtype=np.str_,
        ),
        items=np.asarray(items, dtype=np.str_),
        times=np.fromiter(
            (ts if isinstance(ts, float) else ts.timestamp() for ts in stamps),
            np.float64,
            len(rows),
        ),
        weights=weights,
        views=kind == EventKind.VIEW,
        orders=np.where(
            purchase,
            np.asarray(["" if order is None else str(order) for order in orders], dtype=np.str_),
            "",
        ),
        last_id=rows[-1][0],
    )


def _concatenate(parts: list[EventBatch]) -> EventBatch:
    if not parts:
        keys = np.empty(0, np.str_)
        return EventBatch(keys, keys, np.empty(0), np.empty(0), np.empty(0, bool), keys, None)
    return EventBatch(
        *(np.concatenate([getattr(p, name) for p in parts]) for name in _BATCH_COLUMNS),
        last_id=parts[-1].last_id,
    )


def catalogue_texts() -> dict[str, dict[str, Any]]:
    """Item key → title, description, category, price, for content similarity (empty when the
    catalogue adapter is not configured)."""
    try:
        infos = list(get_catalog().all_items())
    except ImproperlyConfigured as exc:
        logger.warning("No catalogue for content features: %s", exc)
        return {}
    return {
        info.item_id: {
            "title": info.title,
            "description": info.description,
            "category": info.category or None,
            "price": float(info.price) if info.price is not None else None,
        }
        for info in infos
    }


# --- Merging events into the state ---------------------------------------------------------------


def _decay(age_seconds: np.ndarray | float, half_life_days: float | None) -> np.ndarray | float:
    if half_life_days is None:
        return np.ones_like(age_seconds) if isinstance(age_seconds, np.ndarray) else 1.0
    return np.exp2(-np.maximum(age_seconds, 0.0) / (half_life_days * SECONDS_PER_DAY))


def merge(
    previous: TrainingState, batch: EventBatch, half_life_days: float | None
) -> TrainingState:
    """``previous`` plus ``batch``, exactly as if all their events had been read at once."""
    reference = max(previous.reference_time, float(batch.times.max()) if len(batch) else 0.0)
    carried = previous.pair_weights * _decay(reference - previous.reference_time, half_life_days)
    scored = batch.weights > 0
    pair_users = np.concatenate([previous.user_keys[previous.pair_users], batch.users[scored]])
    pair_items = np.concatenate([previous.item_keys[previous.pair_items], batch.items[scored]])
    pair_weights = np.concatenate(
        [carried, batch.weights[scored] * _decay(reference - batch.times[scored], half_life_days)]
    )
    pair_times = np.concatenate([previous.pair_times, batch.times[scored]])
    view_users = np.concatenate([previous.user_keys[previous.view_users], batch.users[batch.views]])
    view_items = np.concatenate([previous.item_keys[previous.view_items], batch.items[batch.views]])
    lines = batch.orders != ""
    line_orders = np.concatenate([previous.order_keys[previous.line_orders], batch.orders[lines]])
    line_items = np.concatenate([previous.item_keys[previous.line_items], batch.items[lines]])
    line_times = np.concatenate([previous.line_times, batch.times[lines]])

    user_keys, user_codes = np.unique(np.concatenate([pair_users, view_users]), return_inverse=True)
    item_keys, item_codes = np.unique(
        np.concatenate([pair_items, view_items, line_items]), return_inverse=True
    )
    n_pairs, n_views = len(pair_users), len(view_users)
    users, views_u = user_codes[:n_pairs], user_codes[n_pairs:]
    items, views_i = item_codes[:n_pairs], item_codes[n_pairs : n_pairs + n_views]
    line_i = item_codes[n_pairs + n_views :]
    pair_u, pair_i, summed, first = _reduce(users, items, len(item_keys), pair_weights, pair_times)
    view_u, view_i, _, _ = _reduce(views_u, views_i, len(item_keys))
    order_keys, order_codes = np.unique(line_orders, return_inverse=True)
    line_o, line_it, _, line_first = _reduce(order_codes, line_i, len(item_keys), times=line_times)
    return TrainingState(
        user_keys=user_keys,
        item_keys=item_keys,
        pair_users=pair_u,
        pair_items=pair_i,
        pair_weights=summed,
        pair_times=first,
        view_users=view_u,
        view_items=view_i,
        order_keys=order_keys,
        line_orders=line_o,
        line_items=line_it,
        line_times=line_first,
        user_map=previous.user_map,
        item_map=previous.item_map,
        reference_time=reference,
        event_count=previous.event_count + len(batch),
    )


def _reduce(
    rows: np.ndarray,
    cols: np.ndarray,
    n_cols: int,
    weights: np.ndarray | None = None,
    times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (row, col) pairs with summed weights and earliest times."""
    rows, cols = rows.astype(np.int64).ravel(), cols.astype(np.int64).ravel()
    if len(rows) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0), np.empty(0)
    codes = rows * max(n_cols, 1) + cols
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    unique = codes[starts]
    summed = np.add.reduceat(weights[order], starts) if weights is not None else np.empty(0)
    first = np.minimum.reduceat(times[order], starts) if times is not None else np.empty(0)
    return unique // max(n_cols, 1), unique % max(n_cols, 1), summed, first


# --- The run -------------------------------------------------------------------------------------


@contextmanager
def training_lock(kind: str, base: TrainingRun | None = None) -> Iterator[TrainingRun]:
    """A ``running`` TrainingRun row, unique by a partial constraint: a second run fails to
    insert it. A run left running past ``TRAINING_LOCK_TIMEOUT`` (a killed worker) is marked
    failed first. The run is marked failed if the block raises."""
    stale = timezone.now() - timedelta(seconds=app_settings.TRAINING_LOCK_TIMEOUT)
    TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, started_at__lt=stale).update(
        status=TrainingRun.Status.FAILED,
        finished_at=timezone.now(),
        message="abandoned: still marked running after TRAINING_LOCK_TIMEOUT",
    )
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(kind=kind, base=base)
    except IntegrityError:
        other = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).first()
        since = f" since {other.started_at:%Y-%m-%d %H:%M:%S %Z}" if other else ""
        number = other.pk if other else "?"
        raise TrainingBusy(f"another training run (#{number}) is running{since}") from None
    try:
        yield run
    except BaseException as exc:
        run.status = TrainingRun.Status.FAILED
        run.message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        raise


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
    excluded = excluded_orders()
    return int(np.isin(state.order_keys, list(excluded)).sum()) if excluded else 0


def _has_new_events(last_id: int | None) -> bool:
    kinds = set(kind_weights()) | {int(EventKind.VIEW), int(EventKind.PURCHASE)}
    return Event.objects.filter(pk__gt=last_id or 0, kind__in=kinds).exclude(item_id="").exists()


def _run(
    run: TrainingRun, previous: TrainingState, notes: list[str], progress: bool
) -> TrainingResult:
    until = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    since = run.base.last_event_id if run.base else None
    batch = read_events(since, until, progress=progress)
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
    too_few = _too_few(state)
    trained = None
    if too_few:
        result.status = "skipped"
        notes.append(too_few)
    else:
        trained = _fit(run, state, previous)
        state.user_map = trained.interactions.user_map.to_array()
        state.item_map = trained.interactions.item_map.to_array()
    # Saved before any promotion: precompute reads the newest state for users' histories.
    run.state.save(f"states/run-{run.pk}.npz", state.save(), save=False)
    run.save()
    refresh_also_viewed((run, state))
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


def _too_few(state: TrainingState) -> str:
    """Why there is too little to validate, or "" when there is enough."""
    if len(state) == 0:
        return "no events to learn from yet: popularity kept"
    excluded = excluded_users()
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


def _fit(run: TrainingRun, state: TrainingState, previous: TrainingState):
    from .engine.pipeline import train as engine_train

    incremental = run.kind == INCREMENTAL
    user_map = IndexMap.from_array(previous.user_map) if incremental else None
    item_map = IndexMap.from_array(previous.item_map) if incremental else None
    users, items = state.user_keys[state.pair_users], state.item_keys[state.pair_items]
    log = EventLog(
        users=users,
        items=items,
        timestamps=state.pair_times + tie_breaks(users, items),
        weights=state.pair_weights.astype(np.float32),
    )
    orders = None
    if len(state.line_orders):
        orders = EventLog(
            users=state.order_keys[state.line_orders],
            items=state.item_keys[state.line_items],
            timestamps=state.line_times,
            weights=np.ones(len(state.line_orders), np.float32),
        )
    config = MatrixConfig(max_weight=app_settings.TRAINING_MAX_WEIGHT, pair_time="first")
    references = {scenario: reference_versions(scenario) for scenario in GATED_SCENARIOS}
    # Reading the catalogue is a tenth of an incremental run; it only serves content models.
    # New products get content neighbours when saved (precompute.refresh_content_neighbours).
    needs_content = not incremental or any(
        version.model in CONTENT_FAMILIES
        for versions in references.values()
        for version in versions
    )
    return engine_train(
        log,
        config=config,
        user_map=user_map,
        item_map=item_map,
        exclude_users=excluded_users(),
        orders=orders,
        catalogue=(catalogue_texts() or None) if needs_content else None,
        candidates=incremental_candidates(references) if incremental else None,
        references={
            scenario: {str(version.pk): _candidate(version) for version in versions}
            for scenario, versions in references.items()
        },
        previous_als=_warm_start(previous) if incremental else None,
        time_budget_s=float(app_settings.TRAINING_TIME_BUDGET),
        device=app_settings.TRAINING_DEVICE,
    )


#: Model families that need catalogue texts.
CONTENT_FAMILIES = frozenset({"content", "hybrid"})

#: Scenarios whose candidates are validated and gated (trending has no validation).
GATED_SCENARIOS = (
    Scenario.FOR_YOU.value,
    Scenario.SIMILAR_ITEM.value,
    Scenario.BOUGHT_TOGETHER.value,
)


def reference_versions(scenario: str) -> list[ModelVersion]:
    """The versions a candidate of ``scenario`` is compared with: the active one, then the most
    recently promoted others, one per configuration, ``PROMOTION_REFERENCES`` in all.

    Comparing with the best of a few recent configurations, not only the active one, keeps a
    series of small drops (each within the tolerance) from ratcheting quality down."""
    from .engine.selection import FAMILIES

    wanted = int(app_settings.PROMOTION_REFERENCES)
    chosen: list[ModelVersion] = []
    seen: set[tuple[str, str]] = set()
    promoted = (
        ModelVersion.objects.filter(scenario=scenario, promoted_at__isnull=False)
        .exclude(status=ModelVersion.Status.REJECTED)
        .order_by("-promoted_at", "-pk")
    )
    active = active_version(scenario)
    for version in ([active] if active else []) + list(promoted[: wanted * 4]):
        key = (version.model, repr(sorted(version.params.items())))
        if len(chosen) >= wanted or key in seen or version.model not in FAMILIES:
            continue
        seen.add(key)
        chosen.append(version)
    return chosen


def incremental_candidates(references: dict[str, list[ModelVersion]]) -> dict[str, list]:
    """What an incremental run chooses from, per scenario with an active version: popularity
    (the baseline the gate needs), the active configuration (warm-started where the family
    allows) and the other recent ones. Those are fitted on the split as references anyway, so
    choosing among them costs nothing more; the whole grid is searched by full runs only."""
    from .engine.selection import candidate_for

    device = app_settings.TRAINING_DEVICE
    chosen: dict[str, list] = {}
    for scenario, versions in references.items():
        if not any(v.status == ModelVersion.Status.ACTIVE for v in versions):
            continue
        chosen[scenario] = [candidate_for("popularity", {}, device)] + [
            _candidate(version) for version in versions if version.model != "popularity"
        ]
    return chosen


def _candidate(version: ModelVersion):
    from .engine.selection import candidate_for

    return candidate_for(version.model, version.params, app_settings.TRAINING_DEVICE)


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
    """The active for-you ALS artifact, when its rows line up with the previous maps."""
    active = active_version("for_you")
    if active is None or active.model != "als":
        return None
    artifact = load_version_artifact(active)
    users = artifact.arrays.get("user_keys")
    items = artifact.item_keys
    if users is None or items is None or "user_factors" not in artifact.arrays:
        return None
    if not (_is_prefix(users, previous.user_map) and _is_prefix(items, previous.item_map)):
        return None
    return artifact


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
    import io

    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    return ContentFile(buffer.getvalue())


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
