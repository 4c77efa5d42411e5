"""Default periodic tasks, installed into django-celery-beat so staff can see and edit them.

Installed after ``migrate`` (post_migrate) and by ``manage.py recommendations_schedules``. An entry
that already exists is left as it is, so edits made in admin survive upgrades; ``reset=True``
restores the defaults.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .conf import app_settings

PREFIX = "recommendations: "


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
