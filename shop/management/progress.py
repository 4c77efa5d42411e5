"""Progress bars for the shop's management commands."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def progress_bar(verbosity: int):
    """A ``progress(items, description)`` wrapper; silent at ``--verbosity 0`` (tests, scripts)."""

    def wrap(items: list, description: str) -> Iterable:
        return tqdm(items, desc=description, disable=verbosity < 1, file=sys.stderr, leave=False)

    return wrap
