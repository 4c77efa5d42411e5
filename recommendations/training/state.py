"""The interaction history a run trained on, and how new events are merged into it.

A run saves its state with its ``TrainingRun``; the next incremental run loads it and merges only
the events stored since, exactly as if all of them had been read at once (:func:`merge`).
Precompute reads the newest state for users' histories.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from django.core.files.base import ContentFile

from recommendations.engine.artifacts import write_npz
from recommendations.engine.data import SECONDS_PER_DAY
from recommendations.models import TrainingRun

from .events import EventBatch


@dataclass
class TrainingState:
    """The interaction history a run trained on, aggregated so that the next incremental run can
    add new events to it without reading old ones again.

    Pairs are codes into ``user_keys`` / ``item_keys``. ``pair_weights`` are the summed event
    weights of each pair, decayed to ``reference_time`` and not yet capped: with summing, decay
    to a later reference is one multiplication, so merging stays exact. ``pair_times`` are each
    pair's first event. ``views`` are the (user, item) pairs with a view, for also-viewed lists;
    ``lines`` are (order, item) pairs of purchases, for bought-together. ``user_map`` /
    ``item_map`` are the engine's index maps after the run: incremental runs append to them.
    """

    user_keys: np.ndarray
    item_keys: np.ndarray
    pair_users: np.ndarray
    pair_items: np.ndarray
    pair_weights: np.ndarray
    pair_times: np.ndarray
    view_users: np.ndarray
    view_items: np.ndarray
    order_keys: np.ndarray
    line_orders: np.ndarray
    line_items: np.ndarray
    line_times: np.ndarray
    user_map: np.ndarray
    item_map: np.ndarray
    reference_time: float = 0.0
    event_count: int = 0

    @classmethod
    def empty(cls) -> TrainingState:
        keys, codes, times = np.empty(0, np.str_), np.empty(0, np.int64), np.empty(0)
        return cls(
            user_keys=keys,
            item_keys=keys,
            pair_users=codes,
            pair_items=codes,
            pair_weights=times,
            pair_times=times,
            view_users=codes,
            view_items=codes,
            order_keys=keys,
            line_orders=codes,
            line_items=codes,
            line_times=times,
            user_map=keys,
            item_map=keys,
        )

    def __len__(self) -> int:
        return len(self.pair_users)

    def save(self) -> ContentFile:
        buffer = io.BytesIO()
        write_npz(buffer, {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        return ContentFile(buffer.getvalue())

    @classmethod
    def load(cls, source: Any) -> TrainingState:
        with np.load(source, allow_pickle=False) as npz:
            values = {f.name: npz[f.name] for f in fields(cls)}
        values["reference_time"] = float(values["reference_time"])
        values["event_count"] = int(values["event_count"])
        return cls(**values)


def latest_state() -> tuple[TrainingRun, TrainingState] | None:
    """The newest run that saved a state, and that state."""
    run = TrainingRun.objects.exclude(state="").order_by("-pk").first()
    if run is None:
        return None
    with run.state.open("rb") as handle:
        return run, TrainingState.load(io.BytesIO(handle.read()))


def _decay(age_seconds: np.ndarray | float, half_life_days: float | None) -> np.ndarray | float:
    if half_life_days is None:
        return np.ones_like(age_seconds) if isinstance(age_seconds, np.ndarray) else 1.0
    return np.exp2(-np.maximum(age_seconds, 0.0) / (half_life_days * SECONDS_PER_DAY))


def merge(
    previous: TrainingState, batch: EventBatch, half_life_days: float | None
) -> TrainingState:
    """``previous`` plus ``batch``, exactly as if all their events had been read at once."""
    reference = max(previous.reference_time, float(batch.times.max()) if len(batch) else 0.0)
    carried = previous.pair_weights * _decay(reference - previous.reference_time, half_life_days)
    scored = batch.weights > 0
    pair_users = np.concatenate([previous.user_keys[previous.pair_users], batch.users[scored]])
    pair_items = np.concatenate([previous.item_keys[previous.pair_items], batch.items[scored]])
    pair_weights = np.concatenate(
        [carried, batch.weights[scored] * _decay(reference - batch.times[scored], half_life_days)]
    )
    pair_times = np.concatenate([previous.pair_times, batch.times[scored]])
    view_users = np.concatenate([previous.user_keys[previous.view_users], batch.users[batch.views]])
    view_items = np.concatenate([previous.item_keys[previous.view_items], batch.items[batch.views]])
    lines = batch.orders != ""
    line_orders = np.concatenate([previous.order_keys[previous.line_orders], batch.orders[lines]])
    line_items = np.concatenate([previous.item_keys[previous.line_items], batch.items[lines]])
    line_times = np.concatenate([previous.line_times, batch.times[lines]])

    user_keys, user_codes = np.unique(np.concatenate([pair_users, view_users]), return_inverse=True)
    item_keys, item_codes = np.unique(
        np.concatenate([pair_items, view_items, line_items]), return_inverse=True
    )
    n_pairs, n_views = len(pair_users), len(view_users)
    users, views_u = user_codes[:n_pairs], user_codes[n_pairs:]
    items, views_i = item_codes[:n_pairs], item_codes[n_pairs : n_pairs + n_views]
    line_i = item_codes[n_pairs + n_views :]
    pair_u, pair_i, summed, first = _reduce(users, items, len(item_keys), pair_weights, pair_times)
    view_u, view_i, _, _ = _reduce(views_u, views_i, len(item_keys))
    order_keys, order_codes = np.unique(line_orders, return_inverse=True)
    line_o, line_it, _, line_first = _reduce(order_codes, line_i, len(item_keys), times=line_times)
    return TrainingState(
        user_keys=user_keys,
        item_keys=item_keys,
        pair_users=pair_u,
        pair_items=pair_i,
        pair_weights=summed,
        pair_times=first,
        view_users=view_u,
        view_items=view_i,
        order_keys=order_keys,
        line_orders=line_o,
        line_items=line_it,
        line_times=line_first,
        user_map=previous.user_map,
        item_map=previous.item_map,
        reference_time=reference,
        event_count=previous.event_count + len(batch),
    )


def _reduce(
    rows: np.ndarray,
    cols: np.ndarray,
    n_cols: int,
    weights: np.ndarray | None = None,
    times: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (row, col) pairs with summed weights and earliest times."""
    rows, cols = rows.astype(np.int64).ravel(), cols.astype(np.int64).ravel()
    if len(rows) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0), np.empty(0)
    codes = rows * max(n_cols, 1) + cols
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    unique = codes[starts]
    summed = np.add.reduceat(weights[order], starts) if weights is not None else np.empty(0)
    first = np.minimum.reduceat(times[order], starts) if times is not None else np.empty(0)
    return unique // max(n_cols, 1), unique % max(n_cols, 1), summed, first
