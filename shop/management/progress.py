"""Progress bars for the shop's management commands."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

from shop.bulk import Progress


def progress_bar(verbosity: int) -> Progress:
    """A ``progress(items, description)`` wrapper; silent at ``--verbosity 0`` (tests, scripts)."""

    def wrap(items: Iterable[Any], description: str) -> Iterable[Any]:
        return tqdm(items, desc=description, disable=verbosity < 1, file=sys.stderr, leave=False)

    return wrap
