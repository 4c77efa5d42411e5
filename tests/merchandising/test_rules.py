"""apply_rules: each action alone, then how they interact (see the precedence in rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from recommendations.merchandising.rules import (
    PINNED_SOURCE,
    Action,
    RuleSpec,
    apply_rules,
    pinned_item_ids,
)
from recommendations.types import Candidate, Reason, ReasonKind

from .helpers import boost, bury, candidates, catalogue, exclude, ids, pin

ITEMS = catalogue(
    "a",
    "b",
    "c",
    "d",
    "e",
    "p",
    b={"category": "Teapots", "brand": "Brewster", "price": Decimal("25.00")},
    d={"category": "Teapots", "price": Decimal("4.99")},
    p={"category": "Plates", "brand": "Platewise", "price": Decimal("30.00")},
)


def test_without_rules_the_candidates_pass_through_up_to_the_limit():
    given = candidates("a", "b", "c", "d", "e")
    assert apply_rules(given, [], ITEMS, limit=3) == given[:3]


def test_a_limit_of_zero_gives_nothing():
    assert apply_rules(candidates("a"), [pin("p", 1)], ITEMS, limit=0) == []


def test_duplicate_candidates_are_shown_once_at_their_best_place():
    given = [*candidates("a", "b"), *candidates("a", "c")]
    assert ids(apply_rules(given, [], ITEMS, limit=5)) == ["a", "b", "c"]


# Exclude


@pytest.mark.parametrize(
    ("target", "gone"),
    [
        ({"item_id": "c"}, {"c"}),
        ({"category": "Teapots"}, {"b", "d"}),
        ({"category": "teapots"}, {"b", "d"}),
        ({"brand": "BREWSTER"}, {"b"}),
        ({"min_price": Decimal("20")}, {"b"}),
        ({"max_price": Decimal("4.99")}, {"d"}),
        ({"min_price": Decimal("10.00"), "max_price": Decimal("25.00")}, {"a", "b", "c", "e"}),
    ],
)
def test_exclude_removes_every_matching_item(target, gone):
    result = apply_rules(candidates("a", "b", "c", "d", "e"), [exclude(**target)], ITEMS, limit=5)
    assert ids(result) == [i for i in "abcde" if i not in gone]


def test_the_next_candidates_fill_the_places_of_excluded_ones():
    result = apply_rules(candidates("a", "b", "c", "d"), [exclude(item_id="a")], ITEMS, limit=2)
    assert ids(result) == ["b", "c"]


def test_without_item_info_only_an_item_id_rule_can_match():
    given = candidates("a", "x")
    rules = [exclude(category="Mugs"), exclude(brand="Acme"), exclude(max_price=Decimal(100))]
    assert ids(apply_rules(given, rules, ITEMS, limit=5)) == ["x"]
    assert ids(apply_rules(given, [exclude(item_id="x")], ITEMS, limit=5)) == ["a"]


def test_a_price_range_does_not_match_an_item_without_a_price():
    items = catalogue("a", "b", b={"price": None})
    result = apply_rules(candidates("a", "b"), [exclude(max_price=Decimal(50))], items, limit=5)
    assert ids(result) == ["b"]


# Pin


def test_a_pin_places_an_item_that_was_not_a_candidate():
    result = apply_rules(candidates("a", "b", "c"), [pin("p", 2, rule_id=7)], ITEMS, limit=3)
    assert ids(result) == ["a", "p", "b"]
    assert result[1] == Candidate(
        "p", 0.0, Reason(ReasonKind.PINNED), source=PINNED_SOURCE, extra={"rule": "7"}
    )
    assert result[0].reason == Reason(ReasonKind.PERSONALISED)


def test_a_pinned_candidate_moves_and_is_not_duplicated():
    given = candidates("a", "b", "c", "d")
    result = apply_rules(given, [pin("d", 1)], ITEMS, limit=4)
    assert ids(result) == ["d", "a", "b", "c"]
    assert result[0].reason == Reason(ReasonKind.PINNED)
    assert result[0].score == given[3].score
    assert given[3].reason == Reason(ReasonKind.PERSONALISED), "the input is not modified"


@pytest.mark.parametrize(
    "state", [{"in_stock": False}, {"active": False}], ids=["out-of-stock", "inactive"]
)
def test_an_unavailable_pinned_item_is_not_shown_and_the_next_candidate_takes_its_place(state):
    items = {**ITEMS, **catalogue("p", p=state)}
    result = apply_rules(candidates("a", "b", "c"), [pin("p", 1)], items, limit=2)
    assert ids(result) == ["a", "b"]


def test_an_unavailable_pinned_item_is_not_shown_even_when_it_is_a_candidate():
    items = {**ITEMS, **catalogue("b", b={"in_stock": False})}
    result = apply_rules(candidates("a", "b", "c"), [pin("b", 1)], items, limit=3)
    assert ids(result) == ["a", "c"]


def test_a_pinned_item_missing_from_the_catalogue_is_not_shown():
    result = apply_rules(candidates("a", "b"), [pin("gone", 1)], ITEMS, limit=2)
    assert ids(result) == ["a", "b"]


def test_of_two_pins_for_one_position_the_older_wins_and_the_other_moves_down():
    rules = [pin("p", 2), pin("e", 2)]
    result = apply_rules(candidates("a", "b", "c"), rules, ITEMS, limit=4)
    assert ids(result) == ["a", "p", "e", "b"]
    result = apply_rules(candidates("a", "b", "c"), rules[::-1], ITEMS, limit=4)
    assert ids(result) == ["a", "e", "p", "b"]


def test_a_moved_pin_does_not_take_a_position_another_pin_asked_for():
    rules = [pin("p", 1), pin("e", 1), pin("d", 2)]
    result = apply_rules(candidates("a", "b"), rules, ITEMS, limit=5)
    assert ids(result) == ["p", "d", "e", "a", "b"]


def test_a_pin_beyond_the_limit_does_not_stop_another_pin_of_the_item():
    rules = [pin("p", 1), pin("e", 1), pin("e", 9)]
    assert ids(apply_rules(candidates("a"), rules, ITEMS, limit=2)) == ["p", "e"]


def test_an_item_pinned_twice_is_placed_once_at_the_lower_position():
    result = apply_rules(candidates("a", "b", "c"), [pin("p", 3), pin("p", 1)], ITEMS, limit=4)
    assert ids(result) == ["p", "a", "b", "c"]


def test_a_pin_beyond_the_limit_is_not_placed():
    result = apply_rules(candidates("a", "b", "c"), [pin("p", 4)], ITEMS, limit=3)
    assert ids(result) == ["a", "b", "c"]


def test_a_candidate_pinned_beyond_the_limit_keeps_its_own_place_and_reason():
    result = apply_rules(candidates("a", "b", "c"), [pin("b", 9)], ITEMS, limit=3)
    assert ids(result) == ["a", "b", "c"]
    assert result[1].reason == Reason(ReasonKind.PERSONALISED)


def test_a_pin_that_moves_beyond_the_limit_is_not_placed():
    result = apply_rules(candidates("a", "b"), [pin("p", 2), pin("e", 2)], ITEMS, limit=2)
    assert ids(result) == ["a", "p"]


def test_with_fewer_candidates_than_the_limit_the_pinned_item_moves_up():
    result = apply_rules(candidates("a"), [pin("p", 4)], ITEMS, limit=5)
    assert ids(result) == ["a", "p"]
    assert ids(apply_rules([], [pin("p", 3)], ITEMS, limit=5)) == ["p"]


def test_pinned_item_ids_names_the_items_the_caller_must_describe():
    rules = [pin("p", 1), pin("e", 2), exclude(item_id="a"), boost(0.5, item_id="b")]
    assert pinned_item_ids(rules) == {"p", "e"}


# Exclude beats pin


def test_an_excluded_item_is_not_shown_even_when_pinned():
    rules = [pin("p", 1), exclude(item_id="p")]
    assert ids(apply_rules(candidates("a", "b"), rules, ITEMS, limit=3)) == ["a", "b"]


@pytest.mark.parametrize(
    "target",
    [
        {"category": "Plates"},
        {"brand": "Platewise"},
        {"min_price": Decimal("29.99"), "max_price": Decimal("30.00")},
    ],
)
def test_an_exclude_by_category_brand_or_price_beats_a_pin(target):
    rules = [exclude(**target), pin("p", 1)]
    assert "p" not in ids(apply_rules(candidates("a", "p"), rules, ITEMS, limit=3))


# Boost and bury


def test_boost_adds_its_weight_times_the_top_score_and_reorders():
    given = candidates("a", "b", "c", "d")  # scores 4, 3, 2, 1
    result = apply_rules(given, [boost(0.5, category="Teapots")], ITEMS, limit=4)
    assert ids(result) == ["b", "a", "d", "c"]
    assert [c.boosted for c in result] == [2.0, 0.0, 2.0, 0.0]
    assert [c.score for c in result] == [3.0, 4.0, 1.0, 2.0]
    assert all(c.boosted == 0.0 for c in given), "the input is not modified"


def test_bury_subtracts_its_weight_times_the_top_score():
    result = apply_rules(candidates("a", "b", "c"), [bury(0.8, item_id="a")], ITEMS, limit=3)
    assert ids(result) == ["b", "c", "a"]
    assert result[2].boosted == pytest.approx(-2.4)


def test_boosts_and_buries_on_one_item_add_up():
    rules = [boost(1.0, brand="Acme"), bury(0.5, category="Mugs"), boost(0.25, item_id="c")]
    result = apply_rules(candidates("a", "b", "c"), rules, ITEMS, limit=3)
    assert {c.item_id: c.boosted for c in result} == {"a": 1.5, "b": 0.0, "c": 2.25}
    assert ids(result) == ["a", "c", "b"]


def test_reordering_is_stable_for_equal_adjusted_scores():
    given = [Candidate(i, 1.0, Reason(ReasonKind.POPULAR)) for i in "abcd"]
    result = apply_rules(given, [bury(0.5, item_id="a")], ITEMS, limit=4)
    assert ids(result) == ["b", "c", "d", "a"]


def test_with_all_scores_zero_a_boost_still_moves_the_item():
    given = [Candidate(i, 0.0, Reason(ReasonKind.POPULAR)) for i in "abc"]
    result = apply_rules(given, [boost(0.1, item_id="c")], ITEMS, limit=3)
    assert ids(result) == ["c", "a", "b"]
    assert result[0].boosted == pytest.approx(0.1)


def test_the_order_is_kept_when_no_boost_or_bury_matches():
    reason = Reason(ReasonKind.RECENTLY_VIEWED)
    given = [Candidate("a", 1.0, reason), Candidate("b", 3.0, reason), Candidate("c", 2.0, reason)]
    result = apply_rules(given, [boost(0.5, brand="Nobody")], ITEMS, limit=3)
    assert ids(result) == ["a", "b", "c"]


def test_a_pinned_item_keeps_its_place_whatever_the_boosts_do():
    rules = [pin("c", 1), bury(5.0, item_id="c"), boost(5.0, item_id="b")]
    result = apply_rules(candidates("a", "b", "c"), rules, ITEMS, limit=3)
    assert ids(result) == ["c", "b", "a"]
    assert result[0].reason == Reason(ReasonKind.PINNED)
    assert result[0].boosted == -15.0


# Time windows


NOON = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "live"),
    [
        (None, None, True),
        (NOON, None, True),
        (NOON + timedelta(seconds=1), None, False),
        (None, NOON + timedelta(seconds=1), True),
        (None, NOON, False),
        (NOON - timedelta(days=1), NOON + timedelta(days=1), True),
    ],
    ids=["always", "starts-now", "not-started", "open-start", "ends-now", "inside"],
)
def test_a_rule_is_live_from_its_start_until_just_before_its_end(starts_at, ends_at, live):
    rule = RuleSpec(Action.EXCLUDE, item_id="a", starts_at=starts_at, ends_at=ends_at)
    assert rule.is_live(NOON) is live
