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
