"""Popularity and trending lists, written for the whole store and per category."""

from __future__ import annotations

from collections import defaultdict

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.popularity import computed_popularity
from recommendations.stores import RankedList, get_store


def refresh_popularity() -> dict[str, int]:
    """Trending and popular lists, overall and per category, from the event table.

    Returns the number of lists written per kind.
    """
    length = app_settings.PRECOMPUTE_LENGTH
    lists: dict[str, RankedList] = {}
    written: dict[str, int] = {}
    for name, decay in (("trending", True), ("popular", False)):
        ranked = computed_popularity(decay=decay, size=length * 20, use_cache=False)
        lists[name] = ranked[:length]
        infos = get_catalog().describe([item_id for item_id, _ in ranked])
        by_category: dict[str, RankedList] = defaultdict(list)
        for item_id, score in ranked:
            info = infos.get(item_id)
            if info is not None and info.category and len(by_category[info.category]) < length:
                by_category[info.category].append((item_id, score))
        for category, items in by_category.items():
            lists[f"{name}:category:{category}"] = items
        written[name] = 1 + len(by_category)
    get_store().put_many(lists)
    return written
