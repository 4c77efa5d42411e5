"""Starting and stopping real processes (ingest consumer, Celery worker, redis-server) in tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """A DATABASE_URL naming the test database, for child processes."""
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": test_database_url(), "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def start_manage(
    *args: str, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env or child_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis_server(port: int) -> subprocess.Popen:
    """A private redis-server, so a test can stop it without touching the shared one."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    import redis

    client = redis.Redis(port=port)
    if not wait_for(lambda: _pings(client), timeout=10):
        stop(process)
        raise RuntimeError(f"redis-server did not start on port {port}")
    return process


@contextmanager
def app_on_private_redis(
    settings, **app_settings: object
) -> Iterator[tuple[int, subprocess.Popen]]:
    """The app's Redis moved, for the block, to a private redis-server (its port and process,
    for the test to stop, hang or kill when it likes); killed and forgotten afterwards.
    ``settings`` is pytest-django's fixture, which restores the app's settings;
    ``app_settings`` are more of them (``REDIS_TIMEOUT=0.2``)."""
    from recommendations import redis_client

    port = free_port()
    server = start_redis_server(port)
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        **app_settings,
    }
    try:
        yield port, server
    finally:
        stop(server, signal.SIGKILL)
        redis_client.reset()


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def postgres_binary(name: str) -> str:
    """A PostgreSQL server binary (``initdb``, ``postgres``), which Debian keeps off ``PATH``."""
    found = shutil.which(name) or next(
        (str(path) for path in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found


class PrivateCluster:
    """A PostgreSQL cluster of the test's own (a temporary directory, its own port), so that a
    test can stop and restart it without touching the shared server. PostgreSQL refuses to run
    as root, so as root it runs as the ``postgres`` user."""

    def __init__(self, port: int) -> None:
        import tempfile

        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="recommendations-pg-"))
        self.data = self.directory / "data"
        self.process: subprocess.Popen | None = None
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [
                *self._as_user,
                postgres_binary("initdb"),
                *("-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *self._as_user,
                postgres_binary("postgres"),
                *("-D", str(self.data), "-p", str(self.port), "-k", str(self.directory)),
                *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for(self._accepts, timeout=30):
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGINT: PostgreSQL's fast shutdown) and wait until it has exited."""
        if self.process is not None:
            stop(self.process, signal.SIGINT, timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _accepts(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url(), connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False
