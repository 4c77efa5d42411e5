"""Helpers for the long-running loaders (seed, import): batching and optional progress reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

#: Wraps items being worked through, e.g. in a progress bar: ``progress(items, description)``.
#: The loaders take one so that commands can show tqdm bars while tests and code stay quiet.
Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def no_progress(items: Iterable[Any], description: str) -> Iterable[Any]:
    return items


def chunked(items: list[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size``: bounded SQL parameters and transaction sizes."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
