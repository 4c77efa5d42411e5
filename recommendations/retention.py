"""Event retention."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from .conf import app_settings
from .models import Event


def delete_expired_events(batch_size: int = 10_000) -> int:
    """Delete events older than ``EVENT_RETENTION_DAYS`` in batches (short locks); return the count."""
    days = app_settings.EVENT_RETENTION_DAYS
    if days is None:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(Event.objects.filter(ts__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += Event.objects.filter(pk__in=ids).delete()[0]
