"""Bucketing is a pure function of the experiment key and the visitor id."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from recommendations.experiments.assignment import assign, bucket, choose


def test_the_same_visitor_always_gets_the_same_variant():
    variants = [("control", 50.0), ("b", 50.0)]
    for _ in range(100):
        visitor = uuid.uuid4().hex
        assert len({assign("homepage", variants, visitor) for _ in range(5)}) == 1


@pytest.mark.parametrize("split", [(50.0, 50.0), (90.0, 10.0), (20.0, 30.0, 50.0)])
def test_ten_thousand_visitors_follow_the_split_within_two_points(split):
    variants = [(f"v{i}", weight) for i, weight in enumerate(split)]
    counts = Counter(assign("split-check", variants, uuid.uuid4().hex) for _ in range(10_000))
    total = sum(split)
    for key, weight in variants:
        assert abs(counts[key] / 10_000 - weight / total) <= 0.02


def test_experiments_bucket_independently():
    visitors = [uuid.uuid4().hex for _ in range(2000)]
    first = [bucket("one", v) < 0.5 for v in visitors]
    second = [bucket("two", v) < 0.5 for v in visitors]
    agreement = sum(a == b for a, b in zip(first, second, strict=True)) / len(visitors)
    assert 0.45 < agreement < 0.55


def test_choose_uses_cumulative_weights():
    options = [("a", 1.0), ("b", 3.0)]
    assert choose(options, 0.0) == "a"
    assert choose(options, 0.2499) == "a"
    assert choose(options, 0.25) == "b"
    assert choose(options, 0.9999) == "b"
    with pytest.raises(ValueError):
        choose([], 0.5)
