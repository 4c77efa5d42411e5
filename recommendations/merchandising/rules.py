"""Merchandiser rules applied to a slot's ranked candidates at serve time.

:func:`apply_rules` is pure: rules arrive as :class:`RuleSpec` snapshots and item facts as
:class:`~recommendations.catalog.ItemInfo`, so it never touches the database, runs in microseconds
and is tested exhaustively. :mod:`recommendations.merchandising.loading` reads and caches the
snapshots.

Precedence, strongest first:

1. **Exclude** beats everything. An item matched by an exclude rule (by item id, category, brand or
   price range) never appears, even when another rule pins it.
2. **Pin** places one item at a 1-based position of the final list. A pin is honoured only if the
   item is in ``items``, active and in stock; a pinned item that is unavailable is not shown at
   all, and its position goes to the next candidate. When two pins claim one position, the rule
   that comes first in ``rules`` (the older one, as :func:`~.loading.load_rules` orders them) keeps
   it, and the other moves to the next position that no pin holds once every pin has taken its
   own position. A pin whose position lies beyond ``limit`` is not placed (its item may still
   appear as an ordinary candidate). When there are too few candidates to fill the places before
   a pin, the pinned item moves up rather than leave a gap. A pinned item is shown once, however
   many pins name it, and its reason becomes ``Reason(ReasonKind.PINNED)``.
3. **Boost / bury** move the remaining candidates: each matching rule adds (boost) or subtracts
   (bury) ``weight`` times the largest absolute candidate score, so ``weight=0.5`` is worth half of
   the best candidate's score whatever scale the source uses. Adjustments from several rules add
   up and are recorded in ``Candidate.boosted``; the candidates are then re-sorted by
   ``score + boosted``, stably. When no boost or bury matches, the candidates keep their order.

A candidate a rule placed or moved says which in ``extra["rule"]``: the pin's rule id, or the
comma-separated ids of the boosts and buries that matched it (rules with a ``rule_id``).

The result has no duplicate items (the first, best-ranked occurrence wins), at most ``limit``
entries, and every candidate keeps its reason unless it was pinned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from recommendations.catalog import ItemInfo
from recommendations.types import Action, Candidate, Reason, ReasonKind

#: ``Candidate.source`` of a pinned item that was not among the candidates.
PINNED_SOURCE = "merchandising"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An immutable snapshot of one rule, safe to cache and share between requests.

    The target is exactly one of ``item_id``, ``category``, ``brand`` or a price range
    (``min_price`` and/or ``max_price``, both inclusive). Category and brand match without regard
    to case, so that "Kitchen" and "kitchen" are the same shelf. ``position`` (1-based) is read
    for pins only, ``weight`` for boost and bury only.
    """

    action: Action
    item_id: str = ""
    category: str = ""
    brand: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    position: int = 1
    weight: float = 0.0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    rule_id: int | None = None

    def is_live(self, now: datetime) -> bool:
        """Whether ``now`` lies in ``[starts_at, ends_at)``; an empty bound is open."""
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )

    def matches(self, item_id: str, info: ItemInfo | None) -> bool:
        """Whether the rule targets this item. Without ``info`` only an item-id rule can match."""
        if self.item_id:
            return item_id == self.item_id
        if info is None:
            return False
        if self.category:
            return info.category.casefold() == self.category.casefold()
        if self.brand:
            return info.brand.casefold() == self.brand.casefold()
        if info.price is None or (self.min_price is None and self.max_price is None):
            return False
        return (self.min_price is None or self.min_price <= info.price) and (
            self.max_price is None or info.price <= self.max_price
        )


def pinned_item_ids(rules: Iterable[RuleSpec]) -> set[str]:
    """The items the pins name: the caller describes these as well as the candidates."""
    return {rule.item_id for rule in rules if rule.action == Action.PIN}


def apply_rules(
    candidates: list[Candidate],
    rules: Sequence[RuleSpec],
    items: Mapping[str, ItemInfo],
    *,
    limit: int,
) -> list[Candidate]:
    """The final list for a slot: ``candidates`` (best first) with ``rules`` applied.

    ``rules`` are in precedence order (older first) and already narrowed to the slot and the
    moment; ``items`` describes every candidate and every item in :func:`pinned_item_ids`. The
    inputs are not modified. See the module docstring for the precedence.
    """
    if limit <= 0:
        return []
    if not rules:  # most slots, most of the time: only the duplicates to drop
        return _dedupe(candidates)[:limit]
    exclusions = [rule for rule in rules if rule.action == Action.EXCLUDE]

    def excluded(item_id: str) -> bool:
        return any(rule.matches(item_id, items.get(item_id)) for rule in exclusions)

    pins = [rule for rule in rules if rule.action == Action.PIN and not excluded(rule.item_id)]
    unavailable = {rule.item_id for rule in pins if not _available(items.get(rule.item_id))}
    ranked = _dedupe(
        _adjust(
            [c for c in candidates if c.item_id not in unavailable and not excluded(c.item_id)],
            [rule for rule in rules if rule.action in (Action.BOOST, Action.BURY)],
            items,
        )
    )
    placed = _place_pins([rule for rule in pins if rule.item_id not in unavailable], ranked, limit)
    pinned = {candidate.item_id for candidate in placed.values()}
    rest = iter(c for c in ranked if c.item_id not in pinned)
    result = []
    for index in range(limit):
        candidate = placed.get(index) or next(rest, None)
        if candidate is not None:
            result.append(candidate)
    return result


def _available(info: ItemInfo | None) -> bool:
    return info is not None and info.active and info.in_stock


def _adjust(
    candidates: list[Candidate], rules: list[RuleSpec], items: Mapping[str, ItemInfo]
) -> list[Candidate]:
    """Candidates with boost/bury applied, re-sorted by adjusted score when anything moved."""
    if not rules or not candidates:
        return candidates
    unit = max(abs(c.score) for c in candidates) or 1.0
    adjusted = []
    moved = False
    for candidate in candidates:
        info = items.get(candidate.item_id)
        matching = [rule for rule in rules if rule.matches(candidate.item_id, info)]
        delta = sum(
            (rule.weight if rule.action == Action.BOOST else -rule.weight) * unit
            for rule in matching
        )
        if delta:
            moved = True
            # Which rules moved it, so that a preview can name them (pins overwrite this).
            named = ",".join(str(rule.rule_id) for rule in matching if rule.rule_id is not None)
            extra = {**candidate.extra, "rule": named} if named else candidate.extra
            candidate = replace(candidate, boosted=candidate.boosted + delta, extra=extra)
        adjusted.append(candidate)
    if moved:
        adjusted.sort(key=lambda c: c.score + c.boosted, reverse=True)
    return adjusted


def _dedupe(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        if candidate.item_id not in seen:
            seen.add(candidate.item_id)
            unique.append(candidate)
    return unique


def _place_pins(pins: list[RuleSpec], ranked: list[Candidate], limit: int) -> dict[int, Candidate]:
    """0-based index → pinned candidate.

    Every pin first tries its own position, so a pin that lost its position to an older one never
    takes the position another pin asked for; the losers then move to the next free position.
    """
    by_id = {c.item_id: c for c in ranked}
    placed: dict[int, Candidate] = {}
    pinned: set[str] = set()
    losers = []
    # sorted() is stable: among pins for one position the earlier (older) rule comes first.
    for rule in sorted(
        (pin for pin in pins if pin.position <= limit), key=lambda pin: pin.position
    ):
        if rule.position - 1 in placed:
            losers.append(rule)
        elif rule.item_id not in pinned:
            _put(placed, pinned, rule.position - 1, rule, by_id.get(rule.item_id))
    for rule in losers:
        index = rule.position - 1
        while index in placed:
            index += 1
        if index < limit and rule.item_id not in pinned:
            _put(placed, pinned, index, rule, by_id.get(rule.item_id))
    return placed


def _put(
    placed: dict[int, Candidate],
    pinned: set[str],
    index: int,
    rule: RuleSpec,
    existing: Candidate | None,
) -> None:
    extra = {"rule": str(rule.rule_id)} if rule.rule_id is not None else {}
    if existing is None:
        candidate = Candidate(
            rule.item_id, 0.0, Reason(ReasonKind.PINNED), source=PINNED_SOURCE, extra=extra
        )
    else:
        candidate = replace(
            existing, reason=Reason(ReasonKind.PINNED), extra={**existing.extra, **extra}
        )
    placed[index] = candidate
    pinned.add(rule.item_id)
