"""Deterministic bucketing: the same visitor always lands in the same variant.

A visitor's point in [0, 1) is a hash of the experiment key and the visitor id, so assignment
needs no table, no query and no coordination between processes, and it survives login (the
visitor cookie is kept when a visitor signs in, ``tracking/identity.py``). Salting with the
experiment key makes the buckets of two experiments independent of each other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_SCALE = float(2**64)


def bucket(experiment_key: str, visitor_id: str) -> float:
    """The visitor's point in [0, 1) for this experiment (the first 64 bits of a SHA-256)."""
    digest = hashlib.sha256(f"{experiment_key}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def choose(weighted: Sequence[tuple[T, float]], point: float) -> T:
    """The option whose share of the cumulative weights holds ``point``; weights need not sum
    to one. The order of the options matters and must stay fixed (variants in creation order)."""
    if not weighted:
        raise ValueError("no variants to choose from")
    total = sum(weight for _, weight in weighted)
    if total <= 0:
        raise ValueError("variant weights must be positive")
    threshold = point * total
    cumulative = 0.0
    for option, weight in weighted:
        cumulative += weight
        if threshold < cumulative:
            return option
    return weighted[-1][0]


def assign(experiment_key: str, weighted: Sequence[tuple[T, float]], visitor_id: str) -> T:
    """The variant of ``visitor_id``: :func:`bucket` then :func:`choose`."""
    return choose(weighted, bucket(experiment_key, visitor_id))
