"""Default periodic tasks, installed into django-celery-beat so staff can see and edit them.

Installed after ``migrate`` (post_migrate) and by ``manage.py recommendations_schedules``. An entry
that already exists is left as it is, so edits made in admin survive upgrades; ``reset=True``
restores the defaults.

Beat must run once, but a second beat started by mistake (two hosts, a deploy that overlaps)
would send every entry twice. So a delivery that beat sent claims its entry's current period in
Redis (:func:`claim_period`) before the task does anything, and a second delivery of the same
period is skipped: each periodic job takes effect at most once per period however many beats
run.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone

from . import redis_client
from .conf import app_settings

logger = logging.getLogger("recommendations.schedules")

PREFIX = "recommendations: "
#: What a periodic task returns when another delivery already ran in its period.
SKIPPED = "skipped (already ran this period)"


def install_schedules(*, reset: bool = False) -> list[str]:
    """Create the missing default PeriodicTasks; return the names created or reset."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    changed = []
    with transaction.atomic():
        for task, spec in app_settings.SCHEDULES.items():
            name = PREFIX + task.removeprefix("recommendations.")
            exists = PeriodicTask.objects.filter(name=name).exists()
            if exists and not reset:
                continue
            fields: dict[str, Any] = {"task": task, "enabled": True}
            if "every" in spec:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=int(spec["every"]), period=IntervalSchedule.SECONDS
                )
                fields.update(interval=interval, crontab=None)
            else:
                minute, hour, day_of_month, month_of_year, day_of_week = spec["crontab"].split()
                crontab, _ = CrontabSchedule.objects.get_or_create(
                    minute=minute,
                    hour=hour,
                    day_of_month=day_of_month,
                    month_of_year=month_of_year,
                    day_of_week=day_of_week,
                )
                fields.update(crontab=crontab, interval=None)
            PeriodicTask.objects.update_or_create(name=name, defaults=fields)
            changed.append(name)
    return changed


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: only once both apps' tables exist."""
    from django.db import connections

    tables = connections[using].introspection.table_names()
    if "django_celery_beat_periodictask" in tables:
        install_schedules()


# --- At most once per period ---------------------------------------------------------------------


def claim_period(entry: str, task: str, delivery: str = "", *, now: datetime | None = None) -> bool:
    """Whether the delivery of beat entry ``entry`` (``task``) should run: ``False`` when another
    delivery of the same entry already claimed the current period.

    The claim is ``SET key delivery NX EX ttl`` on a key naming the task and its period's
    bucket, so of two beats' deliveries in one period only the first runs. ``delivery`` is the
    task id: a delivery that claimed the period and whose worker died is delivered again with the
    same id, and that redelivery runs (the nightly training is not lost for the day because its
    first worker was killed). The period is read from the entry's ``PeriodicTask`` row, which
    is what beat schedules by (admin edits included), falling back to ``SCHEDULES``. Always ``True`` in embedded mode (one process sends and runs), for an entry
    whose period is unknown, and when Redis cannot be reached: a job run twice does no harm
    (each is idempotent), a job never run does.
    """
    if not app_settings.services_mode:
        return True
    now = now or timezone.now()
    bucket = period_bucket(entry, task, now)
    if bucket is None:
        return True
    name, ttl = bucket
    key = app_settings.key("periodic", task, name)
    value = delivery or now.isoformat()
    try:
        client = redis_client.get_redis(timeout=5.0)
        claimed = bool(client.set(key, value, nx=True, ex=ttl))
        if not claimed and delivery:
            claimed = client.get(key) == delivery.encode()
    except redis.RedisError as exc:
        logger.warning("%s: ran without a period claim, Redis is unreachable: %s", task, exc)
        return True
    if not claimed:
        logger.info("%s (%s): %s", task, entry, SKIPPED)
    return claimed


def period_bucket(entry: str, task: str, now: datetime) -> tuple[str, int] | None:
    """The current period of beat entry ``entry`` as (a name for it, seconds to keep a claim on
    it), or ``None`` when the entry has no regular period.

    An interval of ``every`` seconds is cut into buckets ``floor(now / every)``: beat sends one
    entry at least ``every`` seconds apart, so its deliveries fall in distinct buckets. A crontab
    period is named by its next fire time: every delivery for one fire sees the same next fire.
    """
    schedule = _entry_schedule(entry, task)
    if schedule is None:
        return None
    if isinstance(schedule, float):
        if schedule <= 0:
            return None
        return f"every-{schedule:g}:{math.floor(now.timestamp() / schedule)}", math.ceil(schedule)
    last, delta, _ = schedule.remaining_delta(now)  # the next fire after ``now``
    fire = math.floor((last + delta).timestamp())
    return f"cron-{fire}", max(1, math.ceil(fire - now.timestamp()))


def _entry_schedule(entry: str, task: str) -> float | Any | None:
    """Seconds between runs of beat entry ``entry``, or its crontab (a Celery schedule): from its
    ``PeriodicTask`` row, else from ``SCHEDULES[task]``; ``None`` for a solar or one-off entry."""
    from celery.schedules import crontab
    from django_celery_beat.models import PeriodicTask

    row = (
        PeriodicTask.objects.select_related("interval", "crontab")
        .filter(name=entry, task=task)
        .first()
    )
    if row is not None:
        if row.interval is not None:
            return float(row.interval.schedule.run_every.total_seconds())
        if row.crontab is not None:
            return row.crontab.schedule
        return None
    spec = app_settings.SCHEDULES.get(task)
    if spec is None:
        return None
    if "every" in spec:
        return float(spec["every"])
    minute, hour, day_of_month, month_of_year, day_of_week = str(spec["crontab"]).split()
    return crontab(minute, hour, day_of_week, day_of_month, month_of_year)
