"""A training run killed mid-way frees the lock at once, not after TRAINING_LOCK_TIMEOUT."""

from __future__ import annotations

import signal

import pytest

from recommendations.models import TrainingRun
from recommendations.training import train
from tests.processes import child_env, start_manage, stop, wait_for

from .helpers import make_events

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def services(settings):
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("services mode only: set DATABASE_URL and REDIS_URL")


def test_a_killed_training_run_frees_the_lock_for_the_next_one(services, settings, tmp_path):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "ARTIFACT_DIR": str(tmp_path / "models"),
        "TRAINING_DEVICE": "cpu",
    }
    make_events(n_users=2500, per_user=12)
    log = tmp_path / "train.log"
    child = start_manage("recommendations_train", "--full", env=child_env(), log=log)
    try:
        assert wait_for(
            lambda: TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).exists(),
            timeout=60,
        ), log.read_text()
    finally:
        stop(child, signal.SIGKILL)
    killed = TrainingRun.objects.get(status=TrainingRun.Status.RUNNING)

    # PostgreSQL drops the dead session's lock as soon as its backend sees the connection gone
    # (at once when idle, after the statement it was running otherwise): well within a minute.
    assert wait_for(_lease_is_free, timeout=60)
    result = train("full")

    assert result.status == "finished"
    killed.refresh_from_db()
    assert killed.status == TrainingRun.Status.FAILED
    assert killed.message == "abandoned: the process running it ended without finishing"


def _lease_is_free() -> bool:
    from recommendations.training.lease import training_lease

    with training_lease() as held:
        return bool(held)
