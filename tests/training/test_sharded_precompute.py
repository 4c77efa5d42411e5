"""Precompute shared out: with ``PRECOMPUTE_SHARDS`` the task sends one task per shard, each
writing a disjoint part of the lists, and together they write what one task would have."""

from __future__ import annotations

import pytest

from recommendations.stores import get_store
from recommendations.tasks import precompute_lists, precompute_shard
from recommendations.training import train

from .helpers import make_events, stored_keys

pytestmark = pytest.mark.django_db

PREFIXES = ("user:", "item:")


@pytest.fixture
def trained(django_capture_on_commit_callbacks):
    make_events(visitors=2)
    with django_capture_on_commit_callbacks(execute=True):
        train("full")


def everything_stored() -> dict[str, list]:
    keys = [key for prefix in PREFIXES for key in stored_keys(prefix)]
    return get_store().get_many(keys)


def forget_lists() -> None:
    for prefix in PREFIXES:
        get_store().delete_prefix(prefix)


def test_shards_together_write_what_one_task_writes(trained, settings):
    written = precompute_lists.delay().get()
    whole = everything_stored()
    assert written["for-you"] == 80 and written["similar"] > 0 and written["also-viewed"] > 0

    forget_lists()
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRECOMPUTE_SHARDS": 3}
    assert precompute_lists.delay().get() == {"shards": 3}  # sent on, each run by a worker
    assert everything_stored() == whole


def test_each_shard_writes_its_own_part(trained):
    parts = []
    for index in range(3):
        forget_lists()
        counts = precompute_shard.delay(None, index, 3).get()
        parts.append(set(everything_stored()))
        assert counts["for-you"] in (26, 27)  # a third of the 80 users
        assert ("also-viewed" in counts) == (index == 0)  # one shard writes the view lists
    users = [{key for key in part if key.startswith("user:")} for part in parts]
    assert not users[0] & users[1] and not users[1] & users[2] and not users[0] & users[2]
    assert sum(map(len, users)) == 80
