"""Candidate sources: live state, precomputed lists and popularity computed from events.

Each source degrades on its own: a Redis failure makes live sources read the database instead, and
popularity from the database is always there as the last resort.
"""

from __future__ import annotations

import logging

import redis
from django.db.models import Count, Max

from recommendations import fallbacks, redis_client
from recommendations.conf import app_settings
from recommendations.models import Event, EventKind
from recommendations.popularity import computed_popularity, keep_stored, last_stored
from recommendations.stores import RankedList, StoreUnavailable, get_store
from recommendations.tracking import live
from recommendations.types import Fallback

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
    rows: RankedList = []
    if client is not None and category is None:
        try:
            rows = live.trending(client, limit)
        except redis.RedisError as exc:
            redis_client.mark_down()
            logger.warning("Live trending unavailable (%s); computing it from the database", exc)
    if len(rows) >= limit:
        return rows
    # Few live counters (a quiet hour, a fresh stream): the stored ranking fills in after them.
    key = f"trending:category:{category}" if category else "trending"
    stored = _stored(key, keep=True) or computed_popularity(category=category, decay=True)
    if not rows:
        return stored[:limit]
    floor = min(score for _, score in rows)
    live_ids = {item_id for item_id, _ in rows}
    rest = [item_id for item_id, _ in stored if item_id not in live_ids][: limit - len(rows)]
    return rows + [
        (item_id, floor * (1 - (n + 1) / (len(rest) + 1))) for n, item_id in enumerate(rest)
    ]


def popular(limit: int, category: str | None = None) -> RankedList:
    """Most popular items over ``POPULARITY_WINDOW_DAYS``; the backfill of last resort."""
    key = f"popular:category:{category}" if category else "popular"
    stored = _stored(key, keep=True)
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
        fallbacks.note(Fallback.LISTS)
        return {}
    return {keys[key]: labelled for key, labelled in found.items()}


def user_list(user_id: int | None) -> RankedList:
    if user_id is None:
        return []
    return _stored(f"user:{user_id}")


def _stored(key: str, *, keep: bool = False) -> RankedList:
    """The stored list ``key``; with ``keep`` (store-wide rankings, a few lists), the process
    remembers what it read and answers with that while the store is out of reach, so that a
    Redis failure neither changes these lists nor makes a request compute them from events."""
    try:
        found = get_store().get_many([key]).get(key, [])
    except StoreUnavailable as exc:
        logger.warning("Precomputed lists unavailable (%s)", exc)
        fallbacks.note(Fallback.LISTS)
        return last_stored(key) if keep else []
    if keep and found:
        keep_stored(key, found)
    return found
