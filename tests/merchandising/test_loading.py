"""load_rules: the live rules of a slot, cached in-process; and rules applied to real products."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.merchandising import loading
from recommendations.merchandising.loading import load_rules
from recommendations.merchandising.rules import apply_rules, pinned_item_ids
from recommendations.models import Rule
from recommendations.types import Action, Candidate, Reason, ReasonKind, Slot
from tests.shop.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def exclude(name: str, **fields) -> Rule:
    return Rule.objects.create(name=name, action=Action.EXCLUDE, item_id=name, **fields)


def test_the_rules_of_a_slot_and_of_every_slot_oldest_first():
    exclude("b", slot=Slot.FOR_YOU)
    exclude("a")
    exclude("c", slot=Slot.TRENDING)
    exclude("off", active=False)
    assert [rule.item_id for rule in load_rules(Slot.FOR_YOU)] == ["b", "a"]
    assert [rule.item_id for rule in load_rules(Slot.TRENDING)] == ["a", "c"]


def test_rules_are_cached_per_slot(django_assert_num_queries):
    exclude("a")
    with django_assert_num_queries(1):
        load_rules(Slot.FOR_YOU)
        load_rules(Slot.FOR_YOU)
    with django_assert_num_queries(1):
        load_rules(Slot.SIMILAR)


def test_the_cache_expires(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(loading, "CACHE_SECONDS", 0.0)
    with django_assert_num_queries(2):
        load_rules(Slot.FOR_YOU)
        load_rules(Slot.FOR_YOU)


def test_the_time_window_is_checked_on_every_call_despite_the_cache():
    now = timezone.now()
    exclude("later", starts_at=now + timedelta(minutes=1))
    exclude("until-soon", ends_at=now + timedelta(minutes=1))
    assert [rule.item_id for rule in load_rules(Slot.FOR_YOU, now)] == ["until-soon"]
    later = now + timedelta(minutes=2)
    assert [rule.item_id for rule in load_rules(Slot.FOR_YOU, later)] == ["later"]


def test_ended_rules_are_not_loaded():
    exclude("ended", ends_at=timezone.now() - timedelta(seconds=1))
    assert load_rules(Slot.FOR_YOU) == []


def test_saving_or_deleting_a_rule_clears_the_cache():
    assert load_rules(Slot.FOR_YOU) == []
    rule = exclude("a")
    assert len(load_rules(Slot.FOR_YOU)) == 1
    rule.active = False
    rule.save()
    assert load_rules(Slot.FOR_YOU) == []
    exclude("b")
    assert len(load_rules(Slot.FOR_YOU)) == 1
    Rule.objects.all().delete()
    assert load_rules(Slot.FOR_YOU) == []


def test_rules_from_the_database_applied_to_catalogue_products():
    """The way the serving pipeline uses the module: load, describe, apply."""
    mugs, teapots = CategoryFactory(name="Mugs"), CategoryFactory(name="Teapots")
    mug, cheap_mug, teapot = (
        ProductFactory(category=mugs),
        ProductFactory(category=mugs, price=Decimal("2.00")),
        ProductFactory(category=teapots),
    )
    launch, sold_out = ProductFactory(category=teapots), ProductFactory(stock=0)
    Rule.objects.create(name="Launch", action=Action.PIN, item_id=str(launch.pk), position=1)
    Rule.objects.create(name="Gone", action=Action.PIN, item_id=str(sold_out.pk), position=2)
    Rule.objects.create(name="Cheap", action=Action.EXCLUDE, max_price=Decimal("5"))
    Rule.objects.create(name="Tea", action=Action.BOOST, category="teapots", weight=1.0)

    candidates = [
        Candidate(str(product.pk), score, Reason(ReasonKind.PERSONALISED))
        for product, score in [(mug, 3.0), (cheap_mug, 2.0), (teapot, 1.0)]
    ]
    rules = load_rules(Slot.FOR_YOU)
    items = get_catalog().describe({c.item_id for c in candidates} | pinned_item_ids(rules))
    result = apply_rules(candidates, rules, items, limit=3)
    assert [c.item_id for c in result] == [str(launch.pk), str(teapot.pk), str(mug.pk)]
    assert result[0].extra == {"rule": str(Rule.objects.get(name="Launch").pk)}
