"""The Rule model: validation that names the field, database constraints, live rules, summaries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from recommendations.merchandising.loading import spec_of
from recommendations.merchandising.rules import RuleSpec
from recommendations.models import Rule
from recommendations.types import Action, Slot

pytestmark = pytest.mark.django_db  # validation checks the constraints against the database


def errors_of(**fields) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        Rule(name="Rule", **fields).full_clean()
    return caught.value.message_dict


@pytest.mark.parametrize(
    "fields",
    [
        {"action": Action.PIN, "item_id": "42", "position": 1},
        {"action": Action.BOOST, "category": "Mugs", "weight": 0.5},
        {"action": Action.BURY, "brand": "Acme", "weight": 2.0, "slot": Slot.TRENDING},
        {"action": Action.EXCLUDE, "min_price": Decimal("5"), "max_price": Decimal("5")},
        {"action": Action.EXCLUDE, "max_price": Decimal("5")},
    ],
)
def test_a_valid_rule_passes_validation(fields):
    Rule(name="Rule", **fields).full_clean()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"action": Action.PIN, "position": 1}, "item_id", "item id"),
        ({"action": Action.PIN, "item_id": "42"}, "position", "position"),
        ({"action": Action.PIN, "item_id": "42", "position": 0}, "position", "1"),
        ({"action": Action.PIN, "item_id": "4", "position": 1, "brand": "Acme"}, "brand", "single"),
        ({"action": Action.EXCLUDE, "item_id": "4", "position": 2}, "position", "Only pins"),
        ({"action": Action.BOOST, "category": "Mugs"}, "weight", "need a weight"),
        ({"action": Action.BURY, "category": "Mugs", "weight": 0}, "weight", "greater than zero"),
        ({"action": Action.EXCLUDE, "brand": "Acme", "weight": 1}, "weight", "Only boost and bury"),
        (
            {"action": Action.EXCLUDE, "min_price": Decimal(9), "max_price": Decimal(5)},
            "max_price",
            "minimum",
        ),
        (
            {"action": Action.EXCLUDE, "brand": "Acme", "starts_at": timezone.now()}
            | {"ends_at": timezone.now() - timedelta(hours=1)},
            "ends_at",
            "after the start",
        ),
    ],
)
def test_validation_names_the_field(fields, field, words):
    errors = errors_of(**fields)
    assert words in " ".join(errors[field])
    assert NON_FIELD_ERRORS not in errors, "the constraints do not repeat the message"


def test_a_rule_needs_a_target():
    errors = errors_of(action=Action.EXCLUDE)
    assert list(errors) == [NON_FIELD_ERRORS]
    [message] = errors[NON_FIELD_ERRORS]
    assert "an item id, a category, a brand or a price range" in message


def test_a_rule_has_only_one_target():
    errors = errors_of(action=Action.EXCLUDE, category="Mugs", min_price=Decimal(1), brand="Acme")
    assert set(errors) == {"category", "brand", "min_price"}
    assert errors["brand"] == [
        "A rule has one target: keep only one of category, brand or price range."
    ]


def test_a_price_range_with_both_bounds_is_one_target():
    assert Rule(min_price=Decimal(1), max_price=Decimal(2)).targets() == ["price range"]


@pytest.mark.parametrize(
    "fields",
    [
        {"action": Action.PIN, "position": 1},
        {"action": Action.EXCLUDE, "item_id": "1", "position": 1},
        {"action": Action.EXCLUDE, "item_id": "1", "category": "Mugs"},
        {"action": Action.BOOST, "item_id": "1"},
        {"action": Action.BOOST, "item_id": "1", "weight": -1},
        {"action": Action.PIN, "item_id": "1", "position": 0},
        {"action": Action.EXCLUDE, "min_price": 9, "max_price": 1},
        {"action": Action.EXCLUDE, "item_id": "1", "starts_at": timezone.now()}
        | {"ends_at": timezone.now() - timedelta(1)},
    ],
)
def test_the_database_refuses_what_validation_refuses(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Rule.objects.create(name="Rule", **fields)


class TestLive:
    now = timezone.now()

    def rule(self, name: str, **fields) -> Rule:
        return Rule.objects.create(name=name, action=Action.EXCLUDE, item_id=name, **fields)

    def live(self, slot: str = Slot.FOR_YOU) -> set[str]:
        return {rule.name for rule in Rule.objects.live(slot, self.now)}

    def test_time_windows(self):
        hour = timedelta(hours=1)
        self.rule("open-ended")
        self.rule("started", starts_at=self.now - hour)
        self.rule("starts-now", starts_at=self.now)
        self.rule("not-started", starts_at=self.now + hour)
        self.rule("ending", ends_at=self.now + hour)
        self.rule("ends-now", ends_at=self.now)
        self.rule("ended", starts_at=self.now - 2 * hour, ends_at=self.now - hour)
        self.rule("inside", starts_at=self.now - hour, ends_at=self.now + hour)
        assert self.live() == {"open-ended", "started", "starts-now", "ending", "inside"}

    def test_slots(self):
        self.rule("everywhere")
        self.rule("for-you", slot=Slot.FOR_YOU)
        self.rule("trending", slot=Slot.TRENDING)
        assert self.live(Slot.FOR_YOU) == {"everywhere", "for-you"}
        assert self.live(Slot.TRENDING) == {"everywhere", "trending"}
        assert self.live(Slot.SIMILAR) == {"everywhere"}

    def test_inactive_rules_are_not_live(self):
        self.rule("on")
        self.rule("off", active=False)
        assert self.live() == {"on"}

    def test_now_defaults_to_the_current_time(self):
        self.rule("now")
        self.rule("later", starts_at=timezone.now() + timedelta(minutes=1))
        assert {rule.name for rule in Rule.objects.live(Slot.FOR_YOU)} == {"now"}


@pytest.mark.parametrize(
    ("fields", "summary"),
    [
        ({"action": Action.PIN, "item_id": "42", "position": 3}, "Pin item 42 at position 3"),
        ({"action": Action.BOOST, "brand": "Acme", "weight": 0.5}, "Boost brand Acme by 50%"),
        (
            {"action": Action.BURY, "category": "Mugs", "weight": 0.125},
            "Bury category Mugs by 12.5%",
        ),
        ({"action": Action.EXCLUDE, "max_price": Decimal("5.00")}, "Exclude priced up to 5.00"),
        ({"action": Action.EXCLUDE, "min_price": Decimal("100")}, "Exclude priced from 100"),
        (
            {"action": Action.EXCLUDE, "min_price": Decimal(1), "max_price": Decimal(2)},
            "Exclude priced 1 to 2",
        ),
    ],
)
def test_summary_reads_as_a_sentence(fields, summary):
    assert Rule(name="Rule", **fields).summary == summary


def test_a_rule_row_snapshots_to_its_spec():
    start = timezone.now()
    rule = Rule.objects.create(
        name="Launch", action=Action.PIN, item_id="42", position=2, starts_at=start
    )
    assert spec_of(rule) == RuleSpec(
        Action.PIN, item_id="42", position=2, starts_at=start, rule_id=rule.pk
    )
    boost = spec_of(Rule(action=Action.BOOST, brand="Acme", weight=0.5, max_price=None))
    assert (boost.action, boost.brand, boost.weight) == (Action.BOOST, "Acme", 0.5)
