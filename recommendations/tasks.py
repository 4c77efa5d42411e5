"""Celery tasks: thin shells over the plain functions of the app."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from celery import Task, shared_task

from .conf import app_settings
from .schedules import SKIPPED, claim_period

if TYPE_CHECKING:  # imported where used: the worker's modules load only what their task needs
    from .precompute.model_lists import Shard


class OncePerPeriod(Task):
    """A task that, when beat sent it, first claims its entry's period
    (:func:`~recommendations.schedules.claim_period`) and returns :data:`SKIPPED` if another
    delivery (a second beat's) already did: a periodic job takes effect at most once per period.
    A redelivery of the claiming delivery (its worker died) runs. Deliveries without beat's
    ``periodic_task_name`` header (``send_task``, direct calls) always run; admin's "Run selected
    tasks" sends that header, so it counts as its entry's run for the period."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        entry = _periodic_entry(self.request)
        if entry is not None and not claim_period(entry, self.name, str(self.request.id or "")):
            return SKIPPED
        return super().__call__(*args, **kwargs)


def _periodic_entry(request: Any) -> str | None:
    """The django-celery-beat entry that sent this delivery (its ``periodic_task_name`` header)."""
    name = getattr(request, "periodic_task_name", None)
    if name is None:
        name = (getattr(request, "headers", None) or {}).get("periodic_task_name")
    return str(name) if name else None


#: Every task is acknowledged after it ran, and a task whose worker died is delivered again:
#: each is idempotent (events are de-duplicated, lists rewritten whole, training takes a lease).
#: Time limits stay below the broker's visibility timeout (``docs/deployment.md``), so a long
#: task is never delivered a second time while it still runs. Beat's deliveries run at most once
#: per period (:class:`OncePerPeriod`), however many beats send them.
RELIABLE: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True, "base": OncePerPeriod}
#: The safety-net ingest returns after this long even under steady traffic, so it never holds a
#: worker (or a warm shutdown) for more than a beat period; the consumers do the rest.
INGEST_TASK_SECONDS = 50.0


@shared_task(name="recommendations.ingest_pending", ignore_result=True, time_limit=120, **RELIABLE)
def ingest_pending(
    consumer_name: str = "celery-ingest", max_seconds: float = INGEST_TASK_SECONDS
) -> dict[str, int]:
    """Drain the event stream until it is idle or ``max_seconds`` have passed; beat runs it as a
    safety net beside the ingest consumer.

    Safe to run concurrently with consumers: they share one consumer group.
    """
    if not app_settings.services_mode:
        return {"messages": 0}
    from .tracking.ingest import Consumer

    stop = threading.Event()
    timer = threading.Timer(max_seconds, stop.set)
    timer.daemon = True
    timer.start()
    try:
        stats = Consumer(consumer_name).run(stop, until_idle=True)
    finally:
        timer.cancel()
    return {"messages": stats.messages, "stored": stats.stored, "duplicates": stats.duplicates}


@shared_task(
    name="recommendations.refresh_trending", ignore_result=True, time_limit=600, **RELIABLE
)
def refresh_trending() -> dict[str, int]:
    """Recompute trending and popular lists (overall and per category) into the store."""
    from .precompute import refresh_popularity

    return refresh_popularity()


@shared_task(name="recommendations.cleanup_events", ignore_result=True, time_limit=3000, **RELIABLE)
def cleanup_events() -> int:
    """Delete events older than ``EVENT_RETENTION_DAYS`` (nothing when it is None)."""
    from .retention import delete_expired_events

    return delete_expired_events()


@shared_task(
    name="recommendations.train_incremental", ignore_result=True, time_limit=3000, **RELIABLE
)
def train_incremental() -> dict:
    """Add the events stored since the last run to the models (beat: every few minutes).

    Does nothing when no event arrived; skips when another training run holds the lock.
    """
    return _train("incremental")


@shared_task(name="recommendations.train_full", ignore_result=True, time_limit=3000, **RELIABLE)
def train_full() -> dict:
    """Retrain every scenario from all events, numbering users and items afresh (beat: nightly)."""
    return _train("full")


def _train(kind: str) -> dict:
    from .training import TrainingBusy, train

    try:
        return train(kind).as_dict()
    except TrainingBusy as exc:
        return {"kind": kind, "status": "busy", "message": str(exc)}


@shared_task(
    name="recommendations.precompute_lists", ignore_result=True, time_limit=3000, **RELIABLE
)
def precompute_lists(version_id: int | None = None) -> dict[str, int]:
    """Rewrite stored lists from the active versions: of ``version_id``'s scenario (sent on
    promotion and rollback), or of every scenario. Nothing when that version is no longer active
    (a later promotion has its own task). With ``PRECOMPUTE_SHARDS`` above 1 it sends one
    :func:`precompute_shard` per shard instead, for as many workers to share."""
    shards = app_settings.PRECOMPUTE_SHARDS
    if shards <= 1:
        return _precompute(version_id)
    for index in range(shards):
        precompute_shard.delay(version_id, index, shards)
    return {"shards": shards}


@shared_task(
    name="recommendations.precompute_shard", ignore_result=True, time_limit=3000, **RELIABLE
)
def precompute_shard(version_id: int | None, index: int, count: int) -> dict[str, int]:
    """One shard of :func:`precompute_lists`: the users and items at positions ``index``,
    ``index + count``… (:class:`~recommendations.precompute.model_lists.Shard`)."""
    from .precompute.model_lists import Shard

    return _precompute(version_id, Shard(index, count))


def _precompute(version_id: int | None, shard: Shard | None = None) -> dict[str, int]:
    from .models import ModelVersion
    from .precompute.model_lists import WHOLE, refresh_model_lists

    shard = shard or WHOLE
    if version_id is None:
        return refresh_model_lists(shard=shard)
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None or version.status != ModelVersion.Status.ACTIVE:
        return {}
    return refresh_model_lists([version.scenario], shard=shard)


@shared_task(
    name="recommendations.refresh_content_neighbours",
    ignore_result=True,
    time_limit=600,
    **RELIABLE,
)
def refresh_content_neighbours(item_ids: list[str]) -> int:
    """Content-based similar lists for saved products that no model has neighbours for yet
    (queued after commit by the product model's ``post_save``; eager in embedded mode)."""
    from .precompute import refresh_content_neighbours as refresh

    return refresh(item_ids)


@shared_task(name="recommendations.update_segments", ignore_result=True, time_limit=600, **RELIABLE)
def update_segments() -> dict[str, object]:
    """Bring segment memberships up to now from the events and time thresholds since each was
    last computed (beat: every 30 seconds); a segment never computed is rebuilt."""
    from .marketing.segments import update_segments as update

    return update().as_dict()


@shared_task(
    name="recommendations.rebuild_segments", ignore_result=True, time_limit=3000, **RELIABLE
)
def rebuild_segments(segment_ids: list[int] | None = None) -> dict[str, object]:
    """Recompute every member of the segments (all of them when ``segment_ids`` is None; beat:
    hourly), correcting what the frequent update cannot see."""
    from .marketing.segments import rebuild_segments as rebuild

    return rebuild(segment_ids).as_dict()


@shared_task(name="recommendations.score_orders", ignore_result=True, time_limit=120, **RELIABLE)
def score_orders(order_ids: list[str], since: float | None = None) -> dict[str, int]:
    """Risk scores of the orders (queued when their purchase events are stored; eager in
    embedded mode). ``since``: Unix time before which their events need not be looked for."""
    from datetime import UTC, datetime

    from .fraud.orders import score_orders as score

    start = datetime.fromtimestamp(since, tz=UTC) if since is not None else None
    return score([str(order_id) for order_id in order_ids], since=start)


@shared_task(name="recommendations.score_visitors", ignore_result=True, time_limit=300, **RELIABLE)
def score_visitors() -> dict[str, int]:
    """Risk scores of the visitors active since the previous run (beat: every minute)."""
    from .fraud.visitors import score_active_visitors

    return score_active_visitors()


@shared_task(
    name="recommendations.train_anomaly_model", ignore_result=True, time_limit=1800, **RELIABLE
)
def train_anomaly_model() -> dict:
    """Fit the visitors' anomaly model on recent behaviour (beat: nightly)."""
    from .fraud.anomaly import train_model

    return train_model()


@shared_task(
    name="recommendations.forecast_demand", ignore_result=True, time_limit=3000, **RELIABLE
)
def forecast_demand() -> dict:
    """Recompute demand forecasts, stock status, elasticities and price suggestions from the
    events up to yesterday (beat: nightly). Rewrites its rows whole, so a rerun is harmless."""
    from .insights.nightly import compute_insights

    return compute_insights().as_dict()
