"""A product first seen after the last full run reaches the lists at the next incremental run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recommendations.models import Event
from recommendations.training import train

from .helpers import FIRST_USER, cluster_items, make_events, purchase, stored, view

pytestmark = pytest.mark.django_db
NEW = "new-arrival"


def _discover_new_item() -> None:
    """Twelve users of the first taste cluster view the new item beside item 0, and six of them
    buy the two together: the traffic of a product's first hours."""
    latest = Event.objects.order_by("-ts").values_list("ts", flat=True).first()
    events = []
    for n, user in enumerate(range(FIRST_USER, FIRST_USER + 24, 2)):
        when = latest + timedelta(minutes=10 * n)
        events += [view(user, item, when) for item in ("0", NEW, "1")]
        if n % 2 == 0:
            moment = when + timedelta(minutes=2)
            events += [purchase(user, item, moment, f"first-{n}") for item in ("0", NEW)]
    Event.objects.bulk_create(events)


def _items(key: str) -> list[str]:
    found = stored(key)
    return [] if found is None else [item for item, _ in found.items]


def test_a_new_product_with_traffic_reaches_the_item_lists_and_for_you(
    django_capture_on_commit_callbacks,
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    assert not _items(f"item:{NEW}:similar")

    _discover_new_item()
    with django_capture_on_commit_callbacks(execute=True):
        result = train("incremental")

    assert result.kind == "incremental"
    assert all(outcome.promoted for outcome in result.scenarios), "\n".join(
        outcome.describe() for outcome in result.scenarios
    )
    own_cluster = {str(item) for item in cluster_items(0)}
    similar = _items(f"item:{NEW}:similar")
    assert similar and set(similar[:3]) <= own_cluster
    assert "0" in _items(f"item:{NEW}:also-viewed")[:3]
    assert NEW in _items("item:0:also-viewed")
    assert _items(f"item:{NEW}:bought-together")[0] == "0"
    assert NEW in _items("item:0:bought-together")
    # A user of the same taste who has not seen it yet may now be shown it.
    assert NEW in _items(f"user:{FIRST_USER + 40}")[:10]
