"""How fresh and healthy the learning loop is: active models, runs, the stream and its losses.

Each reading degrades on its own: without Redis the stream's backlog and dead letters are
unknown (``None``) while the rest still shows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.db.models import Sum
from django.utils import timezone

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models import ModelVersion, PrecomputedList, QuarantineCount, TrainingRun
from recommendations.tracking import sinks
from recommendations.tracking.ingest import dead_letter_key, group_name

logger = logging.getLogger("recommendations.monitoring")


@dataclass(frozen=True)
class ModelFreshness:
    scenario: str
    version: str
    model: str
    trained_on_until: datetime | None
    promoted_at: datetime | None

    @property
    def age(self) -> timedelta | None:
        """Time since the newest event the model learnt from."""
        return timezone.now() - self.trained_on_until if self.trained_on_until else None


@dataclass(frozen=True)
class StreamHealth:
    """The event stream in services mode; every figure ``None`` when it cannot be read."""

    length: int | None = None
    backlog: int | None = None  # delivered to no consumer yet, plus delivered but unacknowledged
    dead_letters: int | None = None


def model_freshness() -> list[ModelFreshness]:
    """The active version of every scenario, with the age of what it learnt from."""
    versions = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).order_by("scenario")
    return [
        ModelFreshness(
            scenario=v.get_scenario_display(),
            version=v.version or str(v.pk),
            model=v.model,
            trained_on_until=v.data_last_at,
            promoted_at=v.promoted_at,
        )
        for v in versions
    ]


def lists_written_at() -> datetime | None:
    """When the precomputed lists were last written: the table's newest row in embedded mode,
    else the promotion of the newest active version (lists are written right after it)."""
    if not app_settings.services_mode:
        return (
            PrecomputedList.objects.order_by("-updated").values_list("updated", flat=True).first()
        )
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .order_by("-promoted_at")
        .values_list("promoted_at", flat=True)
        .first()
    )


def recent_runs(limit: int = 8) -> list[TrainingRun]:
    return list(TrainingRun.objects.order_by("-started_at", "-pk")[:limit])


def stream_health() -> StreamHealth:
    if not app_settings.services_mode or not redis_client.available():
        return StreamHealth()
    client = redis_client.get_redis()
    try:
        length = int(client.xlen(sinks.stream_key()))
        dead = int(client.xlen(dead_letter_key()))
        backlog = None
        for group in client.xinfo_groups(sinks.stream_key()):
            if group["name"].decode() == group_name():
                backlog = int(group.get("lag") or 0) + int(group["pending"])
        return StreamHealth(length=length, backlog=backlog, dead_letters=dead)
    except redis.ResponseError:  # no stream yet: nothing queued, nothing lost
        return StreamHealth(length=0, backlog=0, dead_letters=0)
    except redis.RedisError as exc:
        redis_client.mark_down()
        logger.warning("Event stream unavailable (%s)", exc)
        return StreamHealth()


def quarantined_today() -> int:
    """Events counted in the bot quarantine today."""
    total = QuarantineCount.objects.filter(day=timezone.localdate()).aggregate(n=Sum("count"))
    return int(total["n"] or 0)


def dropped_here() -> int:
    """Events this process dropped since it started (neither Redis nor the database took them)."""
    return sinks.dropped.value
