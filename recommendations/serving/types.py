"""The values that flow through the serving pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Slot(StrEnum):
    """Where recommendations are shown; each slot has its own candidate sources."""

    FOR_YOU = "for-you"
    SIMILAR = "similar"
    ALSO_VIEWED = "also-viewed"
    BOUGHT_TOGETHER = "bought-together"
    TRENDING = "trending"
    RECENTLY_VIEWED = "recently-viewed"
    BUY_AGAIN = "buy-again"


class ReasonKind(StrEnum):
    BECAUSE_VIEWED = "because-viewed"  # about: the item viewed
    BOUGHT_TOGETHER = "bought-together"  # about: the item it is bought with
    SIMILAR = "similar"  # about: the item it resembles
    SIMILAR_CONTENT = "similar-content"  # about: the item whose name/description/category it shares
    TRENDING = "trending"  # about: the category, or "" for the whole store
    PERSONALISED = "personalised"  # from the user's model scores
    POPULAR = "popular"  # backfill
    PINNED = "pinned"  # a merchandiser rule placed it
    RECENTLY_VIEWED = "recently-viewed"
    BUY_AGAIN = "buy-again"


@dataclass(frozen=True, slots=True)
class Reason:
    kind: ReasonKind
    about: str = ""  # an item id or a category name, depending on the kind


@dataclass(slots=True)
class Candidate:
    """An item proposed for a slot, with the score its source gave it and why."""

    item_id: str
    score: float
    reason: Reason
    source: str = ""  # which candidate source or model produced it
    boosted: float = 0.0  # added by merchandiser rules
    extra: dict[str, str] = field(default_factory=dict)
