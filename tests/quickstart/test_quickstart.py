"""The quick-start store's scenarios, run as their own Django project in a child pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.slow

SCENARIOS = "tests/quickstart/scenarios.py"


def quickstart_env() -> dict[str, str]:
    """This run's environment, with a database of the quick start's own in services mode.

    The child's test database must not be this run's (pytest-django would drop it), so the name
    gets a suffix; Redis is shared, which is safe because this run waits for the child.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("PYTEST_ADDOPTS", None)
    if url := env.get("DATABASE_URL"):
        parts = urlsplit(url)
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"{parts.path}_quickstart"))
    return env


def test_a_store_set_up_by_the_quick_start_gets_exact_filters_caps_and_category_trending():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--noconftest",
            "--create-db",
            "--ds=tests.quickstart.settings",
            SCENARIOS,
        ],
        cwd=ROOT,
        env=quickstart_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = output.strip().splitlines()[-1]
    assert re.fullmatch(r"=*\s*\d+ passed in [\d.]+s\s*=*", summary), output
