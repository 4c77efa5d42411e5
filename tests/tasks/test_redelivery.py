"""A worker killed mid-task: its task is delivered again after the broker's visibility timeout
and done once, by the next worker; the run the dead worker left ``running`` is marked failed."""

from __future__ import annotations

import re
import signal

import pytest

from recommendations.models import ModelVersion, TrainingRun
from shop.celery import app
from tests.processes import stop, wait_for
from tests.training.helpers import make_events

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]

#: Seconds before Redis hands an unacknowledged task to another worker: short for the test.
VISIBILITY_TIMEOUT = 10
DONE = re.compile(r"Task recommendations\.train_full\[[^\]]+\] succeeded")


def test_a_killed_workers_training_is_done_once_after_restart(processes):
    make_events(n_users=2500, per_user=12)
    # Redelivery is tested, not the model families: without the sequential model's minute of
    # training the redelivered run finishes well inside the wait below on a busy machine too.
    env = {
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "RECOMMENDATIONS_SEQUENTIAL_MODEL": "0",
    }
    first = processes.worker("worker-1", **env)
    app.send_task("recommendations.train_full")  # to the broker, even with eager tasks in tests
    running = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING)
    assert wait_for(running.exists, timeout=60), processes.logs()
    killed = running.get()
    stop(first, signal.SIGKILL)  # the whole process group, mid-run: nothing is acknowledged

    processes.worker("worker-2", **env)
    finished = TrainingRun.objects.filter(status=TrainingRun.Status.FINISHED, kind="full")
    assert wait_for(finished.exists, timeout=VISIBILITY_TIMEOUT + 40), processes.logs()
    # Long enough for a second redelivery to show, were there one.
    assert not wait_for(lambda: finished.count() > 1, timeout=VISIBILITY_TIMEOUT + 2)
    log = processes.log("worker-2")
    processes.stop_all()

    try:
        assert len(DONE.findall(log)) == 1, processes.logs()
        assert "busy" not in log
        assert not TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).exists()
        killed.refresh_from_db()
        assert killed.status == TrainingRun.Status.FAILED
        assert killed.message == "abandoned: the process running it ended without finishing"
        assert TrainingRun.objects.count() == 2
        assert ModelVersion.objects.filter(run=finished.get()).exists()
    finally:
        _remove_files()


def _remove_files() -> None:
    """The workers saved artifacts and states where the settings put them (``var/models``)."""
    for version in ModelVersion.objects.exclude(artifact=""):
        version.artifact.delete(save=False)
    for run in TrainingRun.objects.exclude(state=""):
        run.state.delete(save=False)
