"""Generated behaviour with a known structure: two taste clusters over a few dozen items."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from recommendations.models import Event, EventKind
from recommendations.stores import RankedList, get_store

START = datetime(2026, 1, 1, tzinfo=UTC)
N_ITEMS = 30
FIRST_USER = 1000


def cluster_items(user: int, n_items: int = N_ITEMS) -> range:
    """Users with an even index like the first half of the items, the others the second half."""
    half = n_items // 2
    return range(0, half) if user % 2 == 0 else range(half, n_items)


def make_events(
    n_users: int = 80,
    per_user: int = 8,
    *,
    n_items: int = N_ITEMS,
    seed: int = 0,
    first_user: int = FIRST_USER,
    start: datetime = START,
    visitors: int = 0,
) -> list[Event]:
    """Each user views ``per_user`` items of their cluster (skewed towards its first items) and
    buys each of them, in orders of four; ``visitors`` anonymous visitors view three items."""
    rng = np.random.default_rng(seed)
    events = []
    half = n_items // 2
    weights = 1.0 / np.arange(1, half + 1) ** 0.5
    weights /= weights.sum()
    for user in range(n_users):
        offset = 0 if user % 2 == 0 else half
        items = rng.choice(half, size=per_user, replace=False, p=weights) + offset
        moments = sorted(start + timedelta(days=float(d)) for d in rng.random(per_user) * 30)
        user_id = first_user + user
        for k, (item, moment) in enumerate(zip(items, moments, strict=True)):
            events.append(view(user_id, item, moment))
            if k % 2 == 1:
                order = f"{user_id}-{k // 4}"
                for bought, when in ((items[k - 1], moments[k - 1]), (item, moment)):
                    events.append(purchase(user_id, bought, when + timedelta(minutes=5), order))
    for visitor in range(visitors):
        for item in rng.choice(half, size=3, replace=False):
            events.append(
                Event(
                    visitor_id=f"anon-{visitor}",
                    item_id=str(item),
                    kind=EventKind.VIEW,
                    ts=start + timedelta(days=1),
                )
            )
    return Event.objects.bulk_create(events)


@dataclass
class StoredList:
    items: RankedList
    model_version: str | None


def stored(key: str) -> StoredList | None:
    """A precomputed list as serving sees it (Redis or the database, whichever the mode uses)."""
    store = get_store()
    found = store.get_many([key])
    return StoredList(found[key], store.model_version(key)) if key in found else None


def stored_keys(prefix: str = "") -> list[str]:
    return get_store().keys(prefix)


def view(user_id: int, item: object, ts: datetime) -> Event:
    """A signed-in user's product view (unsaved)."""
    return Event(
        visitor_id=f"visitor-{user_id}",
        user_id=user_id,
        item_id=str(item),
        kind=EventKind.VIEW,
        ts=ts,
    )


def purchase(user_id: int, item: object, ts: datetime, order: str) -> Event:
    """One line of a signed-in user's order (unsaved)."""
    return Event(
        visitor_id=f"visitor-{user_id}",
        user_id=user_id,
        item_id=str(item),
        kind=EventKind.PURCHASE,
        value=1,
        ts=ts,
        context={"order": order, "price": "9.99"},
    )


def new_traffic(seed: int, views: int = 40, orders: int = 3, first_user: int = FIRST_USER) -> None:
    """``views`` product views by users of :func:`make_events`, each in their own taste cluster,
    after the newest stored event, and a few two-item orders: what a store gets between two
    incremental runs."""
    rng = np.random.default_rng(seed)
    latest = Event.objects.order_by("-ts").values_list("ts", flat=True).first() or START
    events = []
    for n in range(views):
        user = first_user + int(rng.integers(0, 80))
        item = int(rng.choice(list(cluster_items(user - first_user))))
        events.append(view(user, item, latest + timedelta(minutes=n + 1)))
    for n in range(orders):
        user = first_user + int(rng.integers(0, 80))
        pair = rng.choice(list(cluster_items(user - first_user)), size=2, replace=False)
        when = latest + timedelta(hours=2, minutes=n)
        events += [purchase(user, item, when, f"late-{seed}-{n}") for item in pair]
    Event.objects.bulk_create(events)


def reject_next_for_you(monkeypatch, seed: int = 8):
    """Train incrementally on new traffic with popularity as the only for-you candidate: the
    gate rejects it against the active personal model on the same split. Returns the outcome."""
    from recommendations import training
    from recommendations.engine.selection import candidate_for

    weak = candidate_for("popularity", {}, "cpu")
    real = training.references.incremental_candidates
    monkeypatch.setattr(
        training.references,
        "incremental_candidates",
        lambda references: {**real(references), "for_you": [weak]},
    )
    new_traffic(seed=seed)
    result = training.train("incremental")
    monkeypatch.setattr(training.references, "incremental_candidates", real)
    return next(o for o in result.scenarios if o.scenario == "for_you")


@contextmanager
def another_run_in_progress() -> Iterator[None]:
    """A live training run elsewhere: it holds the lease from its own thread and database
    connection (as another worker would) and has its ``running`` row."""
    import threading

    from django.db import connection

    from recommendations.models import TrainingRun
    from recommendations.training.lease import training_lease

    holding, done = threading.Event(), threading.Event()

    def other_run() -> None:
        try:
            with training_lease():
                holding.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert holding.wait(10), "the other run could not take the lease"
        TrainingRun.objects.create(kind="full")
        yield
    finally:
        done.set()
        thread.join()
