"""Real Celery processes (worker, beat) against the services-mode test database and Redis."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import ROOT, child_env, stop


class Processes:
    """Celery processes started for one test, each logging to its own file; all are stopped
    (by their process group ids) when the test ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[subprocess.Popen] = []

    def celery(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "shop", *args, "-l", "info"],
                cwd=ROOT,
                env=child_env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def worker(self, name: str = "worker", **env: str) -> subprocess.Popen:
        return self.celery(name, "worker", "--pool", "solo", "--hostname", f"{name}@%h", **env)

    def beat(self, name: str) -> subprocess.Popen:
        pidfile = str(self.folder / f"{name}.pid")
        return self.celery(name, "beat", "--pidfile", pidfile, "-s", str(self.folder / name))

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-4000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop_all(self) -> None:
        for process in self.started:
            stop(process)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()
