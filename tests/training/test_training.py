"""Training from the event table: promotion, lists in the store, incremental runs, tiny stores."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.models import Event, EventKind, ModelVersion, TrainingRun
from recommendations.registry import active_version, load_active_artifact
from recommendations.training import TrainingBusy, latest_state, train

from .helpers import (
    FIRST_USER,
    START,
    another_run_in_progress,
    cluster_items,
    make_events,
    stored,
    stored_keys,
)

pytestmark = pytest.mark.django_db


def test_full_training_promotes_a_personal_model_and_writes_lists(
    django_capture_on_commit_callbacks,
):
    make_events(visitors=3)
    with django_capture_on_commit_callbacks(execute=True):
        result = train("full")

    assert result.status == "finished"
    outcomes = {o.scenario: o for o in result.scenarios}
    assert set(outcomes) == {"for_you", "similar_item", "bought_together", "trending"}
    for_you = outcomes["for_you"]
    assert for_you.promoted and for_you.model not in {"popularity", "trending"}
    assert for_you.metric > for_you.popularity
    assert active_version("for_you").pk == for_you.version_id

    user = FIRST_USER  # an even user: likes the first half of the items
    mine = stored(f"user:{user}")
    assert mine is not None and mine.model_version == for_you.version
    seen = set(
        Event.objects.filter(user_id=user, kind=EventKind.VIEW).values_list("item_id", flat=True)
    )
    ranked = [item for item, _ in mine.items]
    assert not seen & set(ranked)
    own_cluster = {str(i) for i in cluster_items(0)}
    assert all(item in own_cluster for item in ranked[:5])
    assert not stored_keys("user:v:")
    assert not [key for key in stored_keys() if "anon" in key]

    similar = stored("item:0:similar")
    assert similar is not None and similar.model_version == outcomes["similar_item"].version
    assert "0" not in [item for item, _ in similar.items]
    together = stored("item:0:bought-together")
    assert together.model_version == outcomes["bought_together"].version
    assert {item for item, _ in together.items[:3]} <= own_cluster
    also = stored("item:0:also-viewed")
    assert also is not None and also.model_version.startswith("views-")


def test_versions_record_data_metrics_and_a_numpy_artifact(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    version = active_version("for_you")
    assert version.version == f"{version.model}-{version.pk}"
    assert version.metrics["metric"] == "ndcg@10"
    assert version.metric == version.metrics["validation"]["ndcg@10"]
    assert version.popularity_metric == version.metrics["popularity"]["ndcg@10"]
    assert version.data_first_at >= START and version.data_last_at > version.data_first_at
    assert version.event_count == Event.objects.count()
    assert version.artifact.name.endswith(".npz")
    artifact = load_active_artifact("for_you")
    assert artifact.model == version.model
    assert "0" in artifact.item_keys.tolist()
    trending = active_version("trending")
    assert trending.metric is None and "no validation metric" in trending.reason


def test_incremental_training_appends_users_and_items_without_renumbering(
    django_capture_on_commit_callbacks,
):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    first_run, first = latest_state()
    old_items, old_users = first.item_map.tolist(), first.user_map.tolist()
    before = Event.objects.count()

    new_user = FIRST_USER + 500
    Event.objects.bulk_create(
        [
            Event(visitor_id="late", user_id=new_user, item_id=item, kind=EventKind.VIEW, ts=ts)
            for item, ts in (("0", START), ("1", START), ("brand-new", START), ("2", START))
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = train("incremental")

    assert result.kind == "incremental" and result.events_read == 4
    assert result.event_count == before + 4
    run, state = latest_state()
    assert run.kind == TrainingRun.Kind.INCREMENTAL and run.base_id == first_run.pk
    items, users = state.item_map.tolist(), state.user_map.tolist()
    assert items[: len(old_items)] == old_items and "brand-new" in items[len(old_items) :]
    assert users[: len(old_users)] == old_users and str(new_user) in users[len(old_users) :]
    for outcome in result.scenarios:
        artifact = ModelVersion.objects.get(pk=outcome.version_id)
        keys = load_active_artifact(artifact.scenario).item_keys.tolist()
        if artifact.status == ModelVersion.Status.ACTIVE:
            assert keys[: len(old_items)] == old_items


def test_incremental_training_with_nothing_new_does_nothing(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    runs, versions = TrainingRun.objects.count(), ModelVersion.objects.count()
    result = train("incremental")
    assert result.status == "skipped"
    assert "no new events" in result.message
    assert (TrainingRun.objects.count(), ModelVersion.objects.count()) == (runs, versions)


def test_a_first_incremental_run_is_a_full_one(django_capture_on_commit_callbacks):
    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        result = train("incremental")
    assert result.kind == "full"
    assert "no earlier training state" in result.message


def test_incremental_equals_full_on_the_same_events():
    """The state merged from two reads equals the state of one read of everything."""
    from recommendations.training import TrainingState, merge, read_events

    events = make_events(n_users=20)
    middle = events[len(events) // 2].pk
    once = merge(TrainingState.empty(), read_events(), None)
    first = merge(TrainingState.empty(), read_events(None, middle), None)
    twice = merge(first, read_events(middle), None)
    for state in (once, twice):
        order = np.lexsort((state.pair_items, state.pair_users))
        state.pairs = list(
            zip(
                state.user_keys[state.pair_users[order]].tolist(),
                state.item_keys[state.pair_items[order]].tolist(),
                state.pair_weights[order].round(6).tolist(),
                state.pair_times[order].tolist(),
                strict=True,
            )
        )
    assert once.pairs == twice.pairs
    assert once.event_count == twice.event_count == len(events)
    assert len(once.line_orders) == len(twice.line_orders)


def test_decay_halves_an_event_one_half_life_older():
    from recommendations.training import EventBatch, TrainingState, merge

    day = 86_400.0
    batch = EventBatch(
        users=np.array(["1", "1"]),
        items=np.array(["a", "b"]),
        times=np.array([0.0, 7 * day]),
        weights=np.array([4.0, 4.0]),
        views=np.zeros(2, bool),
        orders=np.array(["", ""]),
        last_id=2,
    )
    state = merge(TrainingState.empty(), batch, half_life_days=7.0)
    assert state.pair_weights.tolist() == [2.0, 4.0]
    later = EventBatch(
        np.array(["2"]),
        np.array(["a"]),
        np.array([14 * day]),
        np.array([1.0]),
        np.zeros(1, bool),
        np.array([""]),
        3,
    )
    merged = merge(state, later, half_life_days=7.0)
    assert merged.reference_time == 14 * day
    assert sorted(merged.pair_weights.tolist()) == [1.0, 1.0, 2.0]


def test_an_empty_store_keeps_popularity():
    result = train("full")
    assert result.status == "skipped"
    assert result.message == "no events to learn from yet: popularity kept"
    assert not ModelVersion.objects.exists()


def test_a_tiny_store_keeps_popularity_and_says_why():
    make_events(n_users=3, per_user=2)
    count = Event.objects.count()
    result = train("full")
    assert result.status == "skipped"
    assert result.message.startswith(f"{count} events from 3 users: too few to validate")
    assert result.message.endswith("popularity kept")
    assert not ModelVersion.objects.exists()
    assert TrainingRun.objects.get().status == TrainingRun.Status.SKIPPED


def test_two_runs_never_overlap():
    make_events(n_users=3, per_user=2)
    with another_run_in_progress():
        with pytest.raises(TrainingBusy, match="another training run"):
            train("full")
        assert TrainingRun.objects.get().status == TrainingRun.Status.RUNNING


def test_a_crashed_run_does_not_hold_the_lock_forever(settings):
    from datetime import timedelta

    from django.utils import timezone

    TrainingRun.objects.create(kind="full", started_at=timezone.now() - timedelta(days=1))
    result = train("full")
    assert result.status == "skipped"
    assert TrainingRun.objects.filter(status=TrainingRun.Status.FAILED).count() == 1


def test_excluded_users_are_left_out(monkeypatch, django_capture_on_commit_callbacks):
    from recommendations import training

    make_events()
    monkeypatch.setattr(training.events, "excluded_users", lambda: {str(FIRST_USER)})
    with django_capture_on_commit_callbacks(execute=True):
        train("full")
    users = latest_state()[1].user_map.tolist()
    assert str(FIRST_USER) not in users and str(FIRST_USER + 1) in users


def test_an_order_refunded_after_training_is_forgotten_by_the_next_run(
    monkeypatch, django_capture_on_commit_callbacks
):
    from recommendations import training

    make_events()
    with django_capture_on_commit_callbacks(execute=True):
        first = train("full")
    refunded = f"{FIRST_USER}-0"
    assert refunded in latest_state()[1].order_keys.tolist()

    monkeypatch.setattr(training.events, "excluded_orders", lambda: {refunded})
    with django_capture_on_commit_callbacks(execute=True):
        result = train("incremental")

    assert result.kind == "full" and result.status == "finished"
    assert f"1 order(s) in training #{first.run_id}'s history were excluded since" in result.message
    state = latest_state()[1]
    assert refunded not in state.order_keys.tolist()
    assert len(state) > 0
