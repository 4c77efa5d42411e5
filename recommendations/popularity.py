"""Popularity and trending computed from the event table, cached for a minute.

Serving falls back to these when no list is stored, and precompute writes them as lists; both
stages use them, so they live below both. A failed query (the table gone, the database down)
gives an empty ranking, never an error: the storefront then shows what else it has.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    FloatField,
    Max,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncHour

from recommendations import caches as caches_registry
from recommendations import redis_client
from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models import Event, EventKind
from recommendations.stores import RankedList

logger = logging.getLogger("recommendations.serving")


def computed_popularity(
    *, category: str | None = None, decay: bool = False, size: int = 500, use_cache: bool = True
) -> RankedList:
    """Weighted event counts per item from the database, cached for ``POPULARITY_CACHE_SECONDS``.

    With ``decay`` each event counts ``2^(-age / TRENDING_HALF_LIFE)`` (age to the hour, measured
    from the newest event, so an imported history months old still has a trend). A category's
    ranking is the store's, filtered: one query serves every category. Cached rankings are the
    first ``_CATEGORY_POOL`` items, whatever ``size`` asks for: one query per decay serves every
    slot, not one per (decay, size).
    """
    if not use_cache:
        return _query(decay, size) or []
    if category is not None:
        ranked = _cached(decay, max(size, _CATEGORY_POOL))
        memo_key = (decay, category)
        memo = _by_category.get(memo_key)
        # The same store ranking, filtered already. Each read from the shared cache is a new
        # copy, so an equal one counts too: comparing 2,000 pairs costs far less than
        # describing 2,000 items, which a fresh store (no stored category lists yet) would
        # otherwise pay on every page with a category's backfill.
        if memo is not None and (memo[0] is ranked or memo[0] == ranked):
            return memo[1][:size]
        infos = get_catalog().describe([item_id for item_id, _ in ranked])
        filtered = [(i, s) for i, s in ranked if i in infos and infos[i].category == category]
        _by_category[memo_key] = (ranked, filtered)
        return filtered[:size]
    return _cached(decay, max(size, _CATEGORY_POOL))[:size]


#: The store-wide ranking a category's is filtered from, and the length of every cached ranking.
_CATEGORY_POOL = 2000


def _cached(decay: bool, size: int) -> RankedList:
    """The ranking from the shared cache (computed on a miss), else from this process's copy.

    Every ranking read from the shared cache is also kept by the process: when Redis goes away
    the process serves its copy while a background thread recomputes it, so that no request
    waits for the query (seconds on a large event table), not even the first after the failure.
    """
    cache_key = _key(decay, size)
    shared = redis_client.shared_cache()
    if shared is None:
        return _local_popularity(cache_key, decay, size)
    ranked = shared.get(cache_key)
    if ranked is None:
        ranked = _query(decay, size)
        if ranked is None:
            return []
        shared.set(cache_key, ranked, app_settings.POPULARITY_CACHE_SECONDS)
    _local[cache_key] = (time.monotonic() + app_settings.POPULARITY_CACHE_SECONDS, ranked)
    return ranked


def _query(decay: bool, size: int) -> RankedList | None:
    """The ranking from the database, or ``None`` when it cannot be read."""
    try:
        # A savepoint, so that a failed query leaves the request's transaction usable.
        with transaction.atomic():
            return _popularity_query(decay=decay, size=size)
    except DatabaseError as exc:
        logger.warning("Popularity unavailable (%s); serving without it", exc)
        return None


def _key(decay: bool, size: int) -> str:
    return f"recommendations:popularity:{int(decay)}:{size}"


def _local_popularity(cache_key: str, decay: bool, size: int) -> RankedList:
    """While the shared cache's Redis is away: the process's copy, computed once if it has none
    (the only time a request waits for the queries), then served while a background thread
    refreshes it after ``POPULARITY_CACHE_SECONDS``."""
    now = time.monotonic()
    local = _local.get(cache_key)
    if local is None:
        with _refresh_lock:  # one computation per process, however many threads ask
            local = _local.get(cache_key)
            if local is None:
                ranked = _query(decay, size)
                if ranked is None:
                    return []
                local = _local[cache_key] = (now + app_settings.POPULARITY_CACHE_SECONDS, ranked)
                # A page that needs one ranking soon needs the other (the trending and popular
                # backfills): computed by the same request, not by a later one.
                other = _key(not decay, size)
                if other not in _local and (more := _query(not decay, size)) is not None:
                    _local[other] = (now + app_settings.POPULARITY_CACHE_SECONDS, more)
        return local[1]
    if local[0] <= now and cache_key not in _refreshing:
        _refreshing.add(cache_key)
        threading.Thread(
            target=_refresh, args=(cache_key, decay, size), name="popularity-refresh", daemon=True
        ).start()
    return local[1]


def _refresh(cache_key: str, decay: bool, size: int) -> None:
    try:
        ranked = _query(decay, size)
        if ranked is not None:
            _local[cache_key] = (time.monotonic() + app_settings.POPULARITY_CACHE_SECONDS, ranked)
    finally:
        _refreshing.discard(cache_key)
        connection.close()  # the thread's own connection


#: What the process last computed or read from the shared cache, with when it goes stale: served
#: while the shared cache is out of reach, so that a page does not wait for the query.
_local: dict[str, tuple[float, RankedList]] = {}
_refreshing: set[str] = set()
#: Each category's ranking, with the process's store ranking it was filtered from: while that
#: copy is the one served, a category costs no catalogue lookup.
_by_category: dict[tuple[bool, str], tuple[RankedList, RankedList]] = {}
_refresh_lock = threading.Lock()
#: Store-wide rankings (``popular``, ``trending``, and per category) as last read from the list
#: store: served as they were while it is out of reach, instead of being computed from events.
_last_stored: dict[str, RankedList] = {}


def keep_stored(key: str, ranked: RankedList) -> None:
    """Remember the stored ranking ``key`` as just read (see :func:`last_stored`)."""
    _last_stored[key] = ranked


def last_stored(key: str) -> RankedList:
    """The stored ranking ``key`` as last read by this process, or ``[]``."""
    return _last_stored.get(key, [])


def _clear() -> None:
    _local.clear()
    _by_category.clear()
    _last_stored.clear()


caches_registry.register("popularity", _clear)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Whose events and which orders must not make an item popular: what the adapter excludes
    from training (confirmed fraud and bots, burst visitors, refunds), so that fake accounts
    cannot push an item into trending either."""

    users: frozenset[int]
    visitors: frozenset[str]
    orders: frozenset[str]

    @classmethod
    def asked(cls) -> LeftOut:
        catalog = get_catalog()
        keys = catalog.excluded_users()
        return cls(
            users=frozenset(int(key) for key in keys if key.isdigit()),
            visitors=frozenset(key[2:] for key in keys if key.startswith("v:")),
            orders=frozenset(str(order) for order in catalog.excluded_orders()),
        )

    def exclude_from(self, events: QuerySet[Event]) -> QuerySet[Event]:
        if self.users:
            events = events.exclude(user_id__in=sorted(self.users))
        if self.visitors:
            events = events.exclude(visitor_id__in=sorted(self.visitors), user__isnull=True)
        if self.orders:
            events = events.alias(order=Cast(KT("context__order"), CharField())).exclude(
                kind=EventKind.PURCHASE, order__in=sorted(self.orders)
            )
        return events


def _popularity_query(*, decay: bool, size: int) -> RankedList:
    weights = {
        int(EventKind.from_name(name)): weight
        for name, weight in app_settings.TRENDING_WEIGHTS.items()
    }
    events = Event.objects.filter(kind__in=list(weights)).exclude(item_id="")
    newest = events.aggregate(newest=Max("ts"))["newest"]
    left_out = LeftOut.asked()
    events = left_out.exclude_from(events)
    if newest is None:
        return []
    window_days = app_settings.POPULARITY_WINDOW_DAYS
    window = events.filter(ts__gte=newest - timedelta(days=window_days))
    weight = Case(
        *[When(kind=kind, then=Value(w)) for kind, w in weights.items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    if not decay:
        rows = window.values("item_id").annotate(score=Sum(weight)).order_by("-score")[:size]
        return [(row["item_id"], float(row["score"])) for row in rows]
    if connection.vendor == "postgresql":
        return _decayed_in_postgresql(weights, newest, window_days, size, left_out)
    return _decayed_in_python(window, weights, newest, size)


def _decayed_in_python(
    window: QuerySet[Event], weights: dict[int, float], newest: datetime, size: int
) -> RankedList:
    """Events counted per (item, kind, hour), each hour's count decayed by its age."""
    hourly = (
        window.annotate(hour=TruncHour("ts"))
        .values("item_id", "kind", "hour")
        .annotate(n=Count("id"))
        .values_list("item_id", "kind", "hour", "n")
    )
    half_life = float(app_settings.TRENDING_HALF_LIFE)
    scores: dict[str, float] = {}
    for item_id, kind, hour, n in hourly:
        age = max((newest - hour).total_seconds() - 1800.0, 0.0)  # from the middle of the hour
        scores[item_id] = scores.get(item_id, 0.0) + weights[kind] * n * math.pow(
            2.0, -age / half_life
        )
    return sorted(scores.items(), key=lambda pair: -pair[1])[:size]


def _decayed_in_postgresql(
    weights: dict[int, float],
    newest: datetime,
    window_days: float,
    size: int,
    left_out: LeftOut | None = None,
) -> RankedList:
    """The decayed ranking summed by PostgreSQL itself: the same formula as the hourly loop
    (age to the middle of the hour), without sending every (item, kind, hour) row to Python,
    which takes seconds on a large event table."""
    cases = " ".join("WHEN %s THEN %s" for _ in weights)
    sql = f"""
        SELECT item_id, SUM(
            (CASE kind {cases} ELSE 0 END)
            * power(2.0, -LEAST(GREATEST(
                EXTRACT(EPOCH FROM (%s - date_trunc('hour', ts))) - 1800.0, 0.0
            ) / %s, 1000.0))
        ) AS score
        FROM {Event._meta.db_table}
        WHERE kind IN ({", ".join("%s" for _ in weights)}) AND item_id <> '' AND ts >= %s
            AND (user_id IS NULL OR NOT user_id = ANY(%s))
            AND NOT (user_id IS NULL AND visitor_id = ANY(%s))
            AND NOT (kind = %s AND COALESCE(context ->> 'order', '') = ANY(%s))
        GROUP BY item_id
        ORDER BY score DESC, item_id
        LIMIT %s
    """
    params: list[Any] = [value for pair in weights.items() for value in pair]
    params += [newest, float(app_settings.TRENDING_HALF_LIFE), *weights]
    params += [newest - timedelta(days=window_days)]
    left_out = left_out or LeftOut(frozenset(), frozenset(), frozenset())
    params += [sorted(left_out.users), sorted(left_out.visitors), int(EventKind.PURCHASE)]
    params += [sorted(left_out.orders), size]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(str(item_id), float(score)) for item_id, score in cursor.fetchall()]
