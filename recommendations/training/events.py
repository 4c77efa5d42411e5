"""Reading events from the database as plain columns, and the policy hooks that leave some out.

Events are read by primary-key ranges (``values_list``, no model instances, no JSON decoding: the
order id is extracted by the database). The adapter decides whose behaviour and which orders must
not train (:func:`excluded_users`, :func:`excluded_orders`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import F, FloatField, Func, Max, Min
from django.db.models.fields.json import KT
from tqdm import tqdm

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models import Event, EventKind

logger = logging.getLogger("recommendations.training")


def excluded_users() -> set[str]:
    """User keys (``"42"`` for user 42, ``"v:<visitor id>"`` for a visitor) whose behaviour must
    not train models: accounts flagged as bots or fraud. Applied at every run, so clearing a flag
    brings the user back. Asks the catalogue adapter (default: visitors flagged for bursts)."""
    return get_catalog().excluded_users()


def excluded_orders() -> set[str]:
    """Order ids (as text) whose purchases must not count: refunded or cancelled orders. Applied
    when events are read; an order excluded after a run read it makes the next run a full one.
    Asks the catalogue adapter (the store knows its refunds)."""
    return get_catalog().excluded_orders()


class UnixSeconds(Func):
    """A datetime column as Unix seconds, computed by the database: converting half a million
    datetimes in Python costs seconds on SQLite. Other vendors read datetimes."""

    output_field = FloatField()
    vendors = ("sqlite", "postgresql", "mysql")

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_mysql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="UNIX_TIMESTAMP(%(expressions)s)", **extra
        )


@dataclass
class EventBatch:
    """Events as columns: user key, item key, Unix time, weight (kind weight x explicit weight,
    not decayed), whether it was a view, and the order id of purchases (else "")."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    weights: np.ndarray
    views: np.ndarray
    orders: np.ndarray
    last_id: int | None

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> EventBatch:
        columns = {name: getattr(self, name)[mask] for name in _BATCH_COLUMNS}
        return EventBatch(**columns, last_id=self.last_id)


_BATCH_COLUMNS = ("users", "items", "times", "weights", "views", "orders")


def kind_weights() -> dict[int, float]:
    """``TRAINING_WEIGHTS`` keyed by event kind number."""
    weights = {}
    for name, weight in app_settings.TRAINING_WEIGHTS.items():
        try:
            weights[int(EventKind.from_name(name))] = float(weight)
        except KeyError:
            raise ImproperlyConfigured(
                f"RECOMMENDATIONS['TRAINING_WEIGHTS'] names an unknown event kind {name!r}; "
                f"known: {', '.join(EventKind.names())}"
            ) from None
    return weights


def read_events(
    since_id: int | None = None, until_id: int | None = None, *, progress: bool = False
) -> EventBatch:
    """Events with ``since_id < pk <= until_id`` in chunks of ``TRAINING_READ_CHUNK``, as plain
    values (no model instances, no JSON decoding: the order id is extracted by the database)."""
    weights = kind_weights()
    kinds = sorted(set(weights) | {int(EventKind.VIEW), int(EventKind.PURCHASE)})
    # ``kind + 0`` keeps SQLite on the primary key range instead of the kind index, which would
    # sort every remaining event of those kinds for each chunk.
    query = (
        Event.objects.alias(kind_number=F("kind") + 0)
        .filter(kind_number__in=kinds)
        .exclude(item_id="")
        .annotate(order=KT("context__order"))
    )
    epoch = connection.vendor in UnixSeconds.vendors
    if epoch:
        query = query.annotate(seconds=UnixSeconds("ts"))
    columns: tuple[str, ...] = ("pk", "user_id", "visitor_id", "item_id", "kind", "value")
    columns += ("seconds" if epoch else "ts", "order")
    chunk = int(app_settings.TRAINING_READ_CHUNK)
    table = np.zeros(max(EventKind.values) + 1)
    for kind, weight in weights.items():
        table[kind] = weight
    ids = Event.objects.filter(pk__gt=since_id or 0)
    if until_id is not None:
        ids = ids.filter(pk__lte=until_id)
    bounds = ids.aggregate(low=Min("pk"), high=Max("pk"))
    parts: list[EventBatch] = []
    total = (bounds["high"] - bounds["low"] + 1) if bounds["low"] is not None else 0
    with tqdm(total=total, desc="Reading events", disable=not progress, leave=False) as bar:
        low = (bounds["low"] or 1) - 1
        while bounds["high"] is not None and low < bounds["high"]:
            high = min(low + chunk, bounds["high"])
            rows = list(query.filter(pk__gt=low, pk__lte=high).values_list(*columns))
            if rows:
                parts.append(_columns(rows, table))
            bar.update(high - low)
            low = high
    batch = _concatenate(parts)
    skip = excluded_orders()
    if skip and len(batch):
        batch = batch.select(~np.isin(batch.orders, list(skip)))
    return batch


def _columns(rows: list[tuple], weight_table: np.ndarray) -> EventBatch:
    _, user_ids, visitor_ids, items, kinds, values, stamps, orders = zip(*rows, strict=True)
    kind = np.asarray(kinds, dtype=np.int64)
    weights = weight_table[kind]
    ratings = np.flatnonzero(kind == EventKind.RATING)
    for row in ratings:
        weights[row] *= (values[row] if values[row] is not None else 5.0) / 5.0
    purchase = kind == EventKind.PURCHASE
    return EventBatch(
        users=np.asarray(
            [
                f"v:{visitor}" if user is None else str(user)
                for user, visitor in zip(user_ids, visitor_ids, strict=True)
            ],
            dtype=np.str_,
        ),
        items=np.asarray(items, dtype=np.str_),
        times=np.fromiter(
            (ts if isinstance(ts, float) else ts.timestamp() for ts in stamps),
            np.float64,
            len(rows),
        ),
        weights=weights,
        views=kind == EventKind.VIEW,
        orders=np.where(
            purchase,
            np.asarray(["" if order is None else str(order) for order in orders], dtype=np.str_),
            "",
        ),
        last_id=rows[-1][0],
    )


def _concatenate(parts: list[EventBatch]) -> EventBatch:
    if not parts:
        keys = np.empty(0, np.str_)
        return EventBatch(keys, keys, np.empty(0), np.empty(0), np.empty(0, bool), keys, None)
    columns = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _BATCH_COLUMNS}
    return EventBatch(**columns, last_id=parts[-1].last_id)


def catalogue_texts() -> dict[str, dict[str, Any]]:
    """Item key → title, description, category, price, for content similarity (empty when the
    catalogue adapter is not configured)."""
    try:
        infos = list(get_catalog().all_items())
    except ImproperlyConfigured as exc:
        logger.warning("No catalogue for content features: %s", exc)
        return {}
    return {
        info.item_id: {
            "title": info.title,
            "description": info.description,
            "category": info.category or None,
            "price": float(info.price) if info.price is not None else None,
        }
        for info in infos
    }
