"""Popularity and trending computed from the event table, cached for a minute.

Serving falls back to these when no list is stored, and precompute writes them as lists; both
stages use them, so they live below both. A failed query (the table gone, the database down)
gives an empty ranking, never an error: the storefront then shows what else it has.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import timedelta

from django.db import DatabaseError, transaction
from django.db.models import Case, Count, FloatField, Max, Sum, Value, When
from django.db.models.functions import TruncHour

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
    from the newest event, so an imported history months old still has a trend).
    """
    digest = hashlib.blake2s((category or "").encode(), digest_size=8).hexdigest()
    cache_key = f"recommendations:popularity:{int(decay)}:{digest}"
    now = time.monotonic()
    shared = redis_client.shared_cache()
    if use_cache:
        if shared is None:  # the shared cache's Redis is down: this process keeps its own
            local = _local.get(cache_key)
            if local is not None and local[0] > now:
                return local[1]
        else:
            cached = shared.get(cache_key)
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
    if shared is None:
        _local[cache_key] = (now + app_settings.POPULARITY_CACHE_SECONDS, ranked)
    else:
        shared.set(cache_key, ranked, app_settings.POPULARITY_CACHE_SECONDS)
    return ranked


#: While the shared cache is out of reach, a process keeps what it computed, so that a page with
#: several slots does not ask the database once per slot.
_local: dict[str, tuple[float, RankedList]] = {}
caches_registry.register("popularity", _local.clear)


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
