"""Candidate sources: live state, precomputed lists and popularity computed from events.

Each source degrades on its own: a Redis failure makes live sources read the database instead, and
popularity from the database is always there as the last resort.
"""

from __future__ import annotations

import hashlib
import logging
import math
from datetime import timedelta

import redis
from django.core.cache import caches
from django.db import DatabaseError, transaction
from django.db.models import Case, Count, FloatField, Max, Sum, Value, When
from django.db.models.functions import TruncHour

from recommendations import redis_client
from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models import Event, EventKind
from recommendations.tracking import live

from .stores import RankedList, StoreUnavailable, get_store

logger = logging.getLogger("recommendations.serving")

_RECENT_KINDS = (EventKind.VIEW, EventKind.ADD_TO_CART, EventKind.PURCHASE)


def _live_client() -> redis.Redis | None:
    if app_settings.services_mode and redis_client.available():
        return redis_client.get_redis()
    return None


def recent_items(*, user_id: int | None, visitor_id: str | None, limit: int = 10) -> list[str]:
    """The visitor's most recently viewed, carted or bought items, newest first."""
    client = _live_client()
    if client is not None:
        try:
            if user_id is not None:
                return live.recent_items(client, user_id=user_id, limit=limit)
            if visitor_id:
                return live.recent_items(client, visitor_id=visitor_id, limit=limit)
            return []
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning(
                "Live state unavailable (%s); reading recent items from the database", exc
            )
    return recent_items_from_events(user_id=user_id, visitor_id=visitor_id, limit=limit)


def recent_items_from_events(
    *, user_id: int | None, visitor_id: str | None, limit: int
) -> list[str]:
    if user_id is not None:
        events = Event.objects.filter(user_id=user_id)
    elif visitor_id:
        events = Event.objects.filter(visitor_id=visitor_id)
    else:
        return []
    rows = (
        events.filter(kind__in=_RECENT_KINDS)
        .exclude(item_id="")
        .values("item_id")
        .annotate(last=Max("ts"))
        .order_by("-last")[:limit]
    )
    return [row["item_id"] for row in rows]


def purchased_items(user_id: int | None) -> set[str]:
    if user_id is None:
        return set()
    return set(
        Event.objects.filter(user_id=user_id, kind=EventKind.PURCHASE)
        .values_list("item_id", flat=True)
        .distinct()
    )


def buy_again(user_id: int | None, limit: int) -> RankedList:
    """Items the user bought, most often and most recently first."""
    if user_id is None:
        return []
    rows = (
        Event.objects.filter(user_id=user_id, kind=EventKind.PURCHASE)
        .values("item_id")
        .annotate(times=Count("id"), last=Max("ts"))
        .order_by("-times", "-last")[:limit]
    )
    return [(row["item_id"], float(row["times"])) for row in rows]


def trending(limit: int, category: str | None = None) -> RankedList:
    """Items by time-decayed activity: live counters in services mode, else computed from events."""
    client = _live_client()
    if client is not None and category is None:
        try:
            rows = live.trending(client, limit)
            if rows:
                return rows
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning("Live trending unavailable (%s); computing it from the database", exc)
    key = f"trending:category:{category}" if category else "trending"
    stored = _stored(key)
    if stored:
        return stored[:limit]
    return computed_popularity(category=category, decay=True)[:limit]


def popular(limit: int, category: str | None = None) -> RankedList:
    """Most popular items over ``POPULARITY_WINDOW_DAYS``; the backfill of last resort."""
    key = f"popular:category:{category}" if category else "popular"
    stored = _stored(key)
    if stored:
        return stored[:limit]
    return computed_popularity(category=category, decay=False)[:limit]


def neighbours(item_ids: list[str], relation: str) -> dict[str, tuple[RankedList, str]]:
    """Precomputed neighbour lists (``similar``, ``also-viewed``, ``bought-together``) by item,
    each with the label of what wrote it (a model version, or ``CONTENT_LABEL``), so that the
    reason can say what the list is based on."""
    keys = {f"item:{item_id}:{relation}": item_id for item_id in item_ids}
    try:
        found = get_store().get_many_labelled(list(keys))
    except StoreUnavailable as exc:
        logger.warning("Precomputed lists unavailable (%s)", exc)
        return {}
    return {keys[key]: labelled for key, labelled in found.items()}


def user_list(user_id: int | None) -> RankedList:
    if user_id is None:
        return []
    return _stored(f"user:{user_id}")


def _stored(key: str) -> RankedList:
    try:
        return get_store().get_many([key]).get(key, [])
    except StoreUnavailable as exc:
        logger.warning("Precomputed lists unavailable (%s)", exc)
        return []


def computed_popularity(
    *, category: str | None = None, decay: bool = False, size: int = 500, use_cache: bool = True
) -> RankedList:
    """Weighted event counts per item from the database, cached for ``POPULARITY_CACHE_SECONDS``.

    With ``decay`` each event counts ``2^(-age / TRENDING_HALF_LIFE)`` (age to the hour, measured
    from the newest event, so an imported history months old still has a trend).
    """
    cache = caches["default"]
    digest = hashlib.blake2s((category or "").encode(), digest_size=8).hexdigest()
    cache_key = f"recommendations:popularity:{int(decay)}:{digest}"
    cached = cache.get(cache_key) if use_cache else None
    if cached is not None:
        return cached
    try:
        # A savepoint, so that a failed query leaves the request's transaction usable.
        with transaction.atomic():
            ranked = _popularity_query(decay=decay, size=size if category is None else size * 4)
    except DatabaseError as exc:
        logger.warning("Popularity unavailable (%s); serving without it", exc)
        return []
    if category is not None:
        infos = get_catalog().describe([item_id for item_id, _ in ranked])
        ranked = [(i, s) for i, s in ranked if i in infos and infos[i].category == category][:size]
    cache.set(cache_key, ranked, app_settings.POPULARITY_CACHE_SECONDS)
    return ranked


def _popularity_query(*, decay: bool, size: int) -> RankedList:
    weights = {
        int(EventKind.from_name(name)): weight
        for name, weight in app_settings.TRENDING_WEIGHTS.items()
    }
    events = Event.objects.filter(kind__in=list(weights)).exclude(item_id="")
    newest = events.aggregate(newest=Max("ts"))["newest"]
    if newest is None:
        return []
    window = events.filter(ts__gte=newest - timedelta(days=app_settings.POPULARITY_WINDOW_DAYS))
    weight = Case(
        *[When(kind=kind, then=Value(w)) for kind, w in weights.items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    if not decay:
        rows = window.values("item_id").annotate(score=Sum(weight)).order_by("-score")[:size]
        return [(row["item_id"], float(row["score"])) for row in rows]
    rows = (
        window.annotate(hour=TruncHour("ts"))
        .values("item_id", "kind", "hour")
        .annotate(n=Count("id"))
        .values_list("item_id", "kind", "hour", "n")
    )
    half_life = float(app_settings.TRENDING_HALF_LIFE)
    scores: dict[str, float] = {}
    for item_id, kind, hour, n in rows:
        age = max((newest - hour).total_seconds() - 1800.0, 0.0)  # from the middle of the hour
        scores[item_id] = scores.get(item_id, 0.0) + weights[kind] * n * math.pow(
            2.0, -age / half_life
        )
    return sorted(scores.items(), key=lambda pair: -pair[1])[:size]
