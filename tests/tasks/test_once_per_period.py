"""A periodic job takes effect at most once per period, even with two beats running."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from recommendations import redis_client
from recommendations.schedules import SKIPPED, claim_period, period_bucket
from recommendations.tasks import refresh_trending
from tests.processes import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db]

TASK = "recommendations.refresh_trending"
ENTRY = "recommendations: refresh_trending"
#: The shortened period of refresh_trending in the process test, seconds.
PERIOD = 3


def test_a_second_delivery_in_one_period_is_skipped_and_the_next_period_runs():
    PeriodicTask.objects.filter(name=ENTRY).update(
        interval=IntervalSchedule.objects.get_or_create(every=60, period="seconds")[0]
    )
    start = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert claim_period(ENTRY, TASK, now=start)
    assert not claim_period(ENTRY, TASK, now=start + timedelta(seconds=59))
    assert claim_period(ENTRY, TASK, now=start + timedelta(seconds=60))
    key = f"recommendations:periodic:{TASK}:every-60:{int(start.timestamp()) // 60}"
    assert 0 < redis_client.get_redis().ttl(key) <= 60


def test_a_redelivery_of_the_claiming_delivery_runs():
    """The worker that claimed the period died: the broker delivers that task again (same id)."""
    assert claim_period(ENTRY, TASK, "task-1")
    assert not claim_period(ENTRY, TASK, "task-2")  # the other beat's
    assert claim_period(ENTRY, TASK, "task-1")


def test_a_crontab_period_is_named_by_its_next_fire():
    """Both deliveries of the 03:30 run (sent a few seconds apart) name the same period; the
    next day's names another."""
    fire = datetime(2026, 1, 1, 3, 30, tzinfo=UTC)
    entry = "recommendations: train_full"
    first = period_bucket(entry, "recommendations.train_full", fire + timedelta(seconds=1))
    second = period_bucket(entry, "recommendations.train_full", fire + timedelta(seconds=4))
    tomorrow = period_bucket(
        entry, "recommendations.train_full", fire + timedelta(days=1, seconds=1)
    )
    assert first is not None and second is not None and tomorrow is not None
    assert first[0] == second[0] != tomorrow[0]
    assert 86_000 < first[1] <= 86_400


def test_a_direct_call_runs_even_in_a_claimed_period():
    """A direct call (or ``send_task``) carries no beat entry: it always runs."""
    assert claim_period(ENTRY, TASK)
    assert refresh_trending() != SKIPPED


def test_without_redis_the_job_runs_anyway(settings, caplog):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REDIS_URL": "redis://127.0.0.1:1/0"}
    assert claim_period(ENTRY, TASK)
    assert claim_period(ENTRY, TASK)
    assert "Redis is unreachable" in caplog.text


def test_embedded_mode_claims_nothing(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REDIS_URL": None}
    assert claim_period(ENTRY, TASK) and claim_period(ENTRY, TASK)


RUN = re.compile(
    r"\[(?P<at>[\d-]+ [\d:,]+): INFO/\w+\] Task recommendations\.refresh_trending\[[^\]]+\] "
    r"succeeded in [\d.e-]+s: (?P<result>.*)"
)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_beats_run_the_job_once_per_period(processes):
    """One worker and two beats (django-celery-beat's DatabaseScheduler on one database), with
    refresh_trending every few seconds and the other entries off: each beat sends every period,
    but only one delivery per period takes effect."""
    every, _ = IntervalSchedule.objects.get_or_create(every=PERIOD, period="seconds")
    PeriodicTask.objects.exclude(name=ENTRY).update(enabled=False)
    assert PeriodicTask.objects.filter(name=ENTRY).update(
        interval=every, crontab=None, enabled=True
    )

    processes.worker()
    processes.beat("beat-1")
    processes.beat("beat-2")

    def results() -> list[tuple[datetime, str]]:
        return [
            (datetime.strptime(m["at"], "%Y-%m-%d %H:%M:%S,%f"), m["result"])
            for m in RUN.finditer(processes.log("worker"))
        ]

    def both_beats_sent() -> bool:
        return all("Sending due task" in processes.log(name) for name in ("beat-1", "beat-2"))

    assert wait_for(lambda: both_beats_sent() and results(), timeout=40), processes.logs()
    first = results()[0][0]
    time.sleep(4 * PERIOD + 0.5)
    window = [(at, result) for at, result in results() if at >= first]
    last = window[-1][0]
    processes.stop_all()

    ran = [at for at, result in window if result != repr(SKIPPED)]
    skipped = [at for at, result in window if result == repr(SKIPPED)]
    periods = (last - first).total_seconds() / PERIOD
    sent = sum(processes.log(name).count("Sending due task") for name in ("beat-1", "beat-2"))
    detail = (
        f"ran {len(ran)}, skipped {len(skipped)} over {periods:.1f} periods\n{processes.logs()}"
    )
    # At most one run per period (the first and last periods of the window may be partial),
    # at least one per period but a late one, and the second beat's deliveries were skipped.
    assert len(ran) <= int(periods) + 2, detail
    assert len(ran) >= int(periods) - 1, detail
    assert len(skipped) >= int(periods) - 2 and sent >= 2 * int(periods), detail
    # Runs are whole periods apart give or take the delay between two beats' deliveries: no two
    # runs fall in one bucket of the claim.
    buckets = [int(at.timestamp() // PERIOD) for at in ran]
    assert len(set(buckets)) >= len(buckets) - 1, detail
