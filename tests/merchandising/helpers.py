"""Small builders that keep the rule tests readable."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recommendations.catalog import ItemInfo
from recommendations.merchandising.rules import RuleSpec
from recommendations.types import Action, Candidate, Reason, ReasonKind


def candidates(*item_ids: str) -> list[Candidate]:
    """Candidates best first, scored n, n-1, ..., 1, each with a personalised reason."""
    return [
        Candidate(item_id, float(len(item_ids) - i), Reason(ReasonKind.PERSONALISED))
        for i, item_id in enumerate(item_ids)
    ]


def catalogue(*item_ids: str, **overrides: dict[str, Any]) -> dict[str, ItemInfo]:
    """ItemInfo for each id (category "Mugs", brand "Acme", price 10); ``overrides`` by id."""
    infos = {}
    for item_id in item_ids:
        fields = {"category": "Mugs", "brand": "Acme", "price": Decimal("10.00")}
        fields.update(overrides.get(item_id, {}))
        infos[item_id] = ItemInfo(item_id=item_id, title=f"Item {item_id}", **fields)
    return infos


def pin(item_id: str, position: int, rule_id: int | None = None) -> RuleSpec:
    return RuleSpec(Action.PIN, item_id=item_id, position=position, rule_id=rule_id)


def exclude(**target: Any) -> RuleSpec:
    return RuleSpec(Action.EXCLUDE, **target)


def boost(weight: float, **target: Any) -> RuleSpec:
    return RuleSpec(Action.BOOST, weight=weight, **target)


def bury(weight: float, **target: Any) -> RuleSpec:
    return RuleSpec(Action.BURY, weight=weight, **target)


def ids(result: list[Candidate]) -> list[str]:
    return [candidate.item_id for candidate in result]
