"""Keep one category from taking over a list."""

from __future__ import annotations

import math
from collections.abc import Mapping

from recommendations.catalog import ItemInfo
from recommendations.types import Candidate, ReasonKind


def cap_categories(
    candidates: list[Candidate],
    items: Mapping[str, ItemInfo],
    *,
    limit: int,
    max_share: float,
    fill: bool = True,
) -> list[Candidate]:
    """The first ``limit`` candidates with at most ``ceil(max_share * limit)`` per category.

    Order is kept. With ``fill``, items over a category's cap move to the end, so the list still
    reaches ``limit`` when only one category is left; without it they are left out (the caller
    then looks for more candidates first). Pinned items keep the position a rule gave them.
    """
    if max_share >= 1.0:
        return candidates[:limit]
    cap = max(1, math.ceil(max_share * limit))
    pinned = {
        index: candidate
        for index, candidate in enumerate(candidates[:limit])
        if candidate.reason.kind is ReasonKind.PINNED
    }
    counts: dict[str, int] = {}
    kept: list[Candidate] = []
    overflow: list[Candidate] = []
    for candidate in candidates:
        if candidate.reason.kind is ReasonKind.PINNED:
            category = items[candidate.item_id].category
            counts[category] = counts.get(category, 0) + 1
    for candidate in candidates:
        if candidate.reason.kind is ReasonKind.PINNED:
            continue
        category = items[candidate.item_id].category
        if not category or counts.get(category, 0) < cap:
            kept.append(candidate)
            counts[category] = counts.get(category, 0) + 1
        else:
            overflow.append(candidate)
    rest = iter(kept + overflow if fill else kept)
    result = []
    for index in range(min(limit, len(candidates))):
        if index in pinned:
            result.append(pinned[index])
        elif (following := next(rest, None)) is not None:
            result.append(following)
    return result
