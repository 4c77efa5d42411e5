"""Stock-aware ranking: a small, bounded nudge of a finished list by stock status.

Off unless ``STOCK_AWARE_RANKING`` is set. Then, after the list is chosen, an overstocked item
may move up and an item about to run out may move down, never by more than
``STOCK_RANKING_MAX_SHIFT`` positions, and never in or out of the list: relevance still decides
what is shown, stock only the order among neighbours. A sold-out item is never shown (the
pipeline's exact filters already drop it; this step drops one the stored status says is gone
too). Each moved item carries a note that admin's preview shows.

Reads the nightly :class:`~recommendations.models.ProductInsight` rows of the list's items (one
indexed query per list, only when switched on); no model is fitted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from recommendations.catalog import ItemInfo
from recommendations.conf import app_settings
from recommendations.models import ProductInsight, StockStatus
from recommendations.types import Candidate

T = TypeVar("T")

#: How far each status asks to move an item (positions; positive is up), before the bound.
_PULL = {StockStatus.OVERSTOCK: 1.0, StockStatus.RUNNING_OUT: -1.0}


def bounded_order(order: Sequence[T], pull: Mapping[int, float], bound: int) -> list[T]:
    """``order`` re-sorted by position minus ``pull`` (index → positions wanted up), with no
    element ending more than ``bound`` positions from where it was.

    Greedy: each place takes the element whose original index has reached ``bound`` places
    behind (it may fall no further), else the best-keyed element no more than ``bound`` places
    below it. So no element rises more than ``bound`` and none falls more than ``bound``.
    """
    if bound <= 0 or not pull:
        return list(order)
    left = list(range(len(order)))
    placed: list[T] = []
    for place in range(len(order)):
        if left[0] <= place - bound:
            chosen = left[0]
        else:
            reachable = [index for index in left if index <= place + bound]
            chosen = min(reachable, key=lambda index: (index - pull.get(index, 0.0), index))
        left.remove(chosen)
        placed.append(order[chosen])
    return placed


def statuses(item_ids: Sequence[str]) -> dict[str, tuple[str, float | None]]:
    """Stored stock status and days left of ``item_ids``."""
    rows = ProductInsight.objects.filter(item_id__in=list(item_ids)).values_list(
        "item_id", "status", "days_left"
    )
    return {item_id: (status, days) for item_id, status, days in rows}


def rerank(
    chosen: list[Candidate], items: Mapping[str, ItemInfo]
) -> tuple[list[Candidate], dict[str, str]]:
    """``chosen`` in its stock-aware order, and a note per item the stock status moved (or
    would have moved, had the bound allowed). Unchanged when the setting is off."""
    if not app_settings.STOCK_AWARE_RANKING or not chosen:
        return chosen, {}
    known = statuses([c.item_id for c in chosen])
    shown = [
        c
        for c in chosen
        if (info := items.get(c.item_id)) is not None
        and info.in_stock
        and known.get(c.item_id, ("", None))[0] != StockStatus.SOLD_OUT
    ]
    bound = app_settings.STOCK_RANKING_MAX_SHIFT
    # Half a place beyond the bound, so that a nudged item wins a tie with its neighbour;
    # bounded_order still stops it at the bound.
    pull = {
        index: _PULL[StockStatus(status)] * (bound + 0.5)
        for index, c in enumerate(shown)
        if (status := known.get(c.item_id, ("", None))[0]) in _PULL
    }
    ranked = bounded_order(shown, pull, bound)
    notes: dict[str, str] = {}
    for new_index, candidate in enumerate(ranked):
        old_index = shown.index(candidate)
        status, days = known.get(candidate.item_id, ("", None))
        if status not in _PULL:
            continue
        moved = old_index - new_index
        what = (
            f"overstock ({days / 7:.0f} weeks of demand)"
            if status == StockStatus.OVERSTOCK and days is not None
            else "overstock (no demand forecast)"
            if status == StockStatus.OVERSTOCK
            else f"about to run out ({days:.0f} days left)"
            if days is not None
            else "about to run out"
        )
        if moved > 0:
            notes[candidate.item_id] = f"Stock: {what}, moved up {moved}"
        elif moved < 0:
            notes[candidate.item_id] = f"Stock: {what}, moved down {-moved}"
        else:
            notes[candidate.item_id] = f"Stock: {what}, not moved (bound or neighbours)"
    return ranked, notes
