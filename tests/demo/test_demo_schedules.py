"""The demo's periodic schedules run for real: ``make demo``'s worker and beat (django-celery-beat's
DatabaseScheduler, kombu's filesystem broker, the SQLite file) turn each of the default
schedules into task runs, here with periods shortened to seconds.

The demo's processes are started exactly as ``shop_demo_serve`` starts them, as subprocesses in a
throwaway folder (their own SQLite file and queue folder, whichever mode the suite runs in), and
stopped by their process ids.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recommendations.conf import app_settings
from shop.demo_services import start_services, stop_services
from tests.processes import ROOT, wait_for

pytestmark = pytest.mark.slow

#: The shortened period of each default schedule, seconds (crontab ones become intervals, as
#: staff could set them in admin).
SHORT_PERIODS = {
    "recommendations.ingest_pending": 2,
    "recommendations.refresh_trending": 2,
    "recommendations.train_incremental": 3,
    "recommendations.train_full": 8,
    "recommendations.cleanup_events": 3,
    "recommendations.update_segments": 2,
    "recommendations.rebuild_segments": 3,
    "recommendations.score_visitors": 2,
    "recommendations.train_anomaly_model": 3,
    "recommendations.forecast_demand": 5,
}
SHORTEN = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
for task, seconds in {periods!r}.items():
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=task).update(interval=every, crontab=None, enabled=True)
"""
NEW_EVENTS = """
from django.utils import timezone
from recommendations.models import EventKind
from recommendations.tracking.records import EventRecord
from recommendations.tracking.store import insert_events
from shop.models import Product
import uuid
pks = list(Product.objects.values_list("pk", flat=True)[:6])
insert_events([
    EventRecord(kind=EventKind.VIEW, item_id=str(pk), visitor_id="schedules-test", user_id=None,
                ts=timezone.now(), event_id=str(uuid.uuid4()))
    for pk in pks
])
"""


KINDS = "SELECT DISTINCT kind FROM recommendations_trainingrun WHERE status = 'finished'"


def demo_env(folder: Path) -> dict[str, str]:
    """The environment ``make demo`` gives its processes, pointed at ``folder``."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'demo.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
        CELERY_FILESYSTEM_FOLDER=str(folder / "celery"),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stderr[-3000:]}"


def test_every_default_schedule_produces_real_runs_in_the_demo(tmp_path):
    assert set(SHORT_PERIODS) == set(app_settings.SCHEDULES)
    env = demo_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v0", "--skip-checks")
    seed = ("--products", "40", "--customers", "30", "--days", "7", "-v0", "--skip-checks")
    manage(env, "shop_seed_demo", *seed)
    manage(env, "shell", "-c", SHORTEN.format(periods=SHORT_PERIODS))
    database = sqlite3.connect(tmp_path / "demo.sqlite3", timeout=30)

    def rows(sql: str) -> list[tuple]:
        return database.execute(sql).fetchall()

    worker_log = tmp_path / "log" / "worker.log"

    def succeeded() -> set[str]:
        text = worker_log.read_text() if worker_log.exists() else ""
        return set(re.findall(r"Task (recommendations\.\w+)\[[^\]]+\] succeeded", text))

    started = datetime.now(UTC)
    services = start_services(tmp_path / "log", env=env, commands=_demo_commands())
    try:
        assert wait_for(
            lambda: rows("SELECT count(*) FROM recommendations_trainingrun")[0][0], 60
        ), _logs(tmp_path)
        # Events arriving after a run are what an incremental run adds; a full run may take them
        # first, so new ones keep arriving until an incremental run has trained on some.
        for _ in range(20):
            manage(env, "shell", "-c", NEW_EVENTS)
            if wait_for(lambda: ("incremental",) in rows(KINDS), 4):
                break
        assert ("incremental",) in rows(KINDS) and ("full",) in rows(KINDS), _logs(tmp_path)
        assert wait_for(lambda: succeeded() >= set(SHORT_PERIODS), 60), _logs(tmp_path)
        for service in services:
            assert service.process.poll() is None, f"{service.name} exited: {_logs(tmp_path)}"
    finally:
        stop_services(services)
    assert all(service.process.poll() is not None for service in services)

    runs = rows("SELECT kind, status FROM recommendations_trainingrun ORDER BY id")
    assert ("incremental", "finished") in runs and ("full", "finished") in runs
    assert not [run for run in runs if run[1] == "failed"], runs
    (trending,) = rows(
        "SELECT updated, items FROM recommendations_precomputedlist WHERE key = 'trending'"
    )
    assert datetime.fromisoformat(trending[0]).replace(tzinfo=UTC) >= started
    assert trending[1] != "[]"
    # Beat counted each schedule as sent; the worker log above shows each one ran.
    counts = dict(
        rows(
            "SELECT task, total_run_count FROM django_celery_beat_periodictask "
            "WHERE name LIKE 'recommendations: %'"
        )
    )
    assert all(counts[task] >= 1 for task in SHORT_PERIODS), counts
    database.close()


def _demo_commands() -> dict[str, list[str]]:
    """The demo's commands in its embedded mode, whichever mode this test suite runs in."""
    from shop.demo_services import service_commands

    return service_commands(services_mode=False)


def _logs(folder: Path) -> str:
    parts = []
    for log in sorted((folder / "log").glob("*.log")):
        parts.append(f"--- {log.name}\n{log.read_text()[-3000:]}")
    return "\n".join(parts)


def test_stopped_services_leave_no_process_behind(tmp_path):
    env = demo_env(tmp_path)
    services = start_services(tmp_path / "log", env=env, commands={"sleeper": ["sleep", "60"]})
    stop_services(services, timeout=5)
    assert services[0].process.returncode is not None
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.killpg(services[0].process.pid, 0)
