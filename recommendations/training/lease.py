"""Who is training: a lock that is released when its holder dies, not hours later.

The ``TrainingRun`` row marked ``running`` says which run it is, but a worker killed mid-run
leaves it behind. So the run also holds a lock its process cannot outlive: a session-level
advisory lock on PostgreSQL (the server drops it with the connection) or an exclusive ``flock``
beside a SQLite database (the kernel drops it with the process). Whoever gets the lock knows
that any run still marked ``running`` is dead. Other databases fall back to
``TRAINING_LOCK_TIMEOUT``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from django.db import connection

from recommendations.conf import app_settings


@contextmanager
def training_lease() -> Iterator[bool | None]:
    """``True`` while this process holds the lease, ``False`` when a live process holds it,
    ``None`` when the database offers no such lock."""
    if connection.vendor == "postgresql":
        with _advisory_lock() as held:
            yield held
    elif connection.vendor == "sqlite":
        with _file_lock() as held:
            yield held
    else:
        yield None


@contextmanager
def _advisory_lock() -> Iterator[bool]:
    key = zlib.crc32(app_settings.key("training", "lease").encode()) - 2**31  # a signed int4
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def _file_lock() -> Iterator[bool]:
    handle: IO[str] = _lock_path().open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _lock_path() -> Path:
    """Beside the database file; in the temporary folder for an in-memory database, one per
    process: each process that opens ``:memory:`` has a database of its own."""
    name = str(connection.settings_dict["NAME"])
    if name and not name.startswith((":memory:", "file:")) and Path(name).parent.is_dir():
        return Path(f"{name}.training-lock")
    if connection.creation.is_in_memory_db(name):  # type: ignore[attr-defined]  # SQLite's creation
        name = f"{name}:{os.getpid()}"
    digest = hashlib.blake2s(name.encode(), digest_size=8).hexdigest()
    return Path(tempfile.gettempdir()) / f"recommendations-{digest}.training-lock"
