"""Celery tasks: thin shells over the plain functions of the app."""

from __future__ import annotations

from celery import shared_task

from .conf import app_settings


@shared_task(name="recommendations.ingest_pending", ignore_result=True)
def ingest_pending(consumer_name: str = "celery-ingest") -> dict[str, int]:
    """Drain the event stream once; beat runs it as a safety net beside the ingest consumer.

    Safe to run concurrently with consumers: they share one consumer group.
    """
    if not app_settings.services_mode:
        return {"messages": 0}
    from .tracking.ingest import Consumer

    stats = Consumer(consumer_name).run(until_idle=True)
    return {"messages": stats.messages, "stored": stats.stored, "duplicates": stats.duplicates}


@shared_task(name="recommendations.refresh_trending", ignore_result=True)
def refresh_trending() -> dict[str, int]:
    """Recompute trending and popular lists (overall and per category) into the store."""
    from .precompute import refresh_popularity

    return refresh_popularity()


@shared_task(name="recommendations.cleanup_events", ignore_result=True)
def cleanup_events() -> int:
    """Delete events older than ``EVENT_RETENTION_DAYS`` (nothing when it is None)."""
    from .retention import delete_expired_events

    return delete_expired_events()
