"""Guarantees of apply_rules that hold for any candidates, rules and catalogue."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from recommendations.catalog import ItemInfo
from recommendations.merchandising.rules import RuleSpec, apply_rules
from recommendations.types import Action, Candidate, Reason, ReasonKind

ITEM_IDS = [str(n) for n in range(12)]
CATEGORIES = ["Mugs", "Teapots", "Plates"]
BRANDS = ["Acme", "Brewster"]
prices = st.none() | st.integers(0, 50).map(Decimal)

infos = st.builds(
    ItemInfo,
    item_id=st.just(""),
    title=st.just("Item"),
    category=st.sampled_from(CATEGORIES),
    brand=st.sampled_from(BRANDS),
    price=prices,
    in_stock=st.booleans(),
    active=st.booleans(),
)

candidate_lists = st.lists(
    st.builds(
        Candidate,
        item_id=st.sampled_from(ITEM_IDS),
        score=st.floats(-10, 10, allow_nan=False),
        reason=st.just(Reason(ReasonKind.PERSONALISED)),
    ),
    max_size=15,
)

targets = st.one_of(
    st.fixed_dictionaries({"item_id": st.sampled_from([*ITEM_IDS, "unknown"])}),
    st.fixed_dictionaries({"category": st.sampled_from(CATEGORIES)}),
    st.fixed_dictionaries({"brand": st.sampled_from(BRANDS)}),
    st.fixed_dictionaries({}, optional={"min_price": prices, "max_price": prices}),
)

rule_specs = st.one_of(
    st.builds(
        RuleSpec,
        action=st.just(Action.PIN),
        item_id=st.sampled_from([*ITEM_IDS, "unknown"]),
        position=st.integers(1, 12),
    ),
    targets.flatmap(
        lambda target: st.builds(
            RuleSpec,
            action=st.sampled_from([Action.BOOST, Action.BURY]),
            weight=st.floats(0.01, 3),
            **{name: st.just(value) for name, value in target.items()},
        )
    ),
    targets.map(lambda target: RuleSpec(Action.EXCLUDE, **target)),
)


@settings(max_examples=300)
@given(
    candidates=candidate_lists,
    rules=st.lists(rule_specs, max_size=8),
    catalogue=st.dictionaries(st.sampled_from(ITEM_IDS), infos),
    limit=st.integers(0, 10),
)
def test_the_result_is_clean_whatever_the_rules(candidates, rules, catalogue, limit):
    items = {item_id: replace(info, item_id=item_id) for item_id, info in catalogue.items()}
    result = apply_rules(candidates, rules, items, limit=limit)
    shown = [c.item_id for c in result]

    assert len(shown) <= limit
    assert len(set(shown)) == len(shown), "no duplicates"
    excludes = [rule for rule in rules if rule.action == Action.EXCLUDE]
    for item_id in shown:
        assert not any(rule.matches(item_id, items.get(item_id)) for rule in excludes)
    pinned = {rule.item_id for rule in rules if rule.action == Action.PIN}
    for item_id in pinned & set(shown):
        assert items[item_id].active and items[item_id].in_stock
    proposed = {c.item_id for c in candidates}
    assert set(shown) <= proposed | pinned

    usable = {
        item_id
        for item_id in proposed
        if not any(rule.matches(item_id, items.get(item_id)) for rule in excludes)
        and (item_id not in pinned or _available(items.get(item_id)))
    }
    if len(usable) >= limit:
        assert len(shown) == limit, "exactly limit items when there are enough"


def _available(info: ItemInfo | None) -> bool:
    return info is not None and info.active and info.in_stock
