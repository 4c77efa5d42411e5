"""The background processes of the demo: a Celery worker and beat (and, in services mode, the
ingest consumer), started beside the web process and stopped with it.

Shared by ``manage.py shop_demo_serve`` and the schedules test, so that the test runs the demo's
processes exactly as ``make demo`` does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Service:
    """One background process of the demo, started in its own session so that it is stopped by
    its process group id (a worker's pool children go with it), never by name."""

    name: str
    process: subprocess.Popen
    log: Path | None


def tasks_run_in_a_worker() -> bool:
    """Whether Celery tasks sent from this process reach a broker a worker consumes.

    False in the plain embedded mode: tasks run eagerly in-process and the ``memory://`` broker
    has no consumer, so nothing sent there (a beat schedule, an admin action) would ever run.
    """
    from shop.celery import app

    return not app.conf.task_always_eager and not str(app.conf.broker_url).startswith("memory")


def service_commands(
    *, loglevel: str = "INFO", services_mode: bool | None = None
) -> dict[str, list[str]]:
    """The command line of each background process the mode needs (by default the current one).

    The worker uses the solo pool: one task at a time, so trainings and list refreshes never
    compete for the SQLite file; the training lock would also keep two trainings apart.
    """
    celery = [sys.executable, "-m", "celery", "-A", "shop"]
    commands = {
        "worker": [*celery, "worker", "--pool", "solo", "--loglevel", loglevel],
        "beat": [
            *celery,
            "beat",
            "--scheduler",
            settings.CELERY_BEAT_SCHEDULER,
            "--loglevel",
            loglevel,
        ],
    }
    if settings.SERVICES_MODE if services_mode is None else services_mode:
        commands["ingest"] = [sys.executable, str(ROOT / "manage.py"), "recommendations_ingest"]
    return commands


def start_services(
    log_dir: Path | None,
    *,
    env: Mapping[str, str] | None = None,
    commands: Mapping[str, list[str]] | None = None,
) -> list[Service]:
    """Start every background process, each logging to ``<log_dir>/<name>.log`` (or nowhere)."""
    started: list[Service] = []
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for name, command in (commands or service_commands()).items():
            log = log_dir / f"{name}.log" if log_dir is not None else None
            out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child owns it)
            try:
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=dict(env) if env is not None else None,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            finally:
                if log:
                    out.close()
            started.append(Service(name, process, log))
    except BaseException:
        stop_services(started)
        raise
    return started


def stop_services(services: list[Service], timeout: float = 20.0) -> None:
    """SIGTERM each process group (a warm shutdown: the running task finishes), SIGKILL what is
    still there after ``timeout`` seconds."""
    for service in services:
        if service.process.poll() is None:
            _signal_group(service.process.pid, signal.SIGTERM)
    for service in services:
        try:
            service.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(service.process.pid, signal.SIGKILL)
            service.process.wait(5)


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
