"""An in-memory SQLite database belongs to one process, and so does its training lease."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from recommendations.training.lease import training_lease

pytestmark = pytest.mark.django_db


def test_two_processes_with_in_memory_databases_do_not_hold_each_others_lease():
    if connection.vendor != "sqlite" or "memory" not in str(connection.settings_dict["NAME"]):
        pytest.skip("the test database is not an in-memory SQLite database")
    with training_lease() as held:
        assert held is True
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # another process, with a database of its own (as a parallel test worker)
            try:
                with training_lease() as child_held:
                    os.write(write, b"1" if child_held else b"0")
            finally:
                os._exit(0)  # never back into the test session
        os.close(write)
        answer = os.read(read, 1)
        os.waitpid(child, 0)
    assert answer == b"1"
