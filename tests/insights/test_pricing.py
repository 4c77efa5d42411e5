"""Price suggestions: when they are made, their bounds, and the log of decisions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from recommendations.insights.pricing import Evidence, propose, store_suggestions
from recommendations.models import PriceSuggestion, StockStatus

TODAY = date(2026, 6, 1)


def running_out(**changes) -> Evidence:
    """Demand doubled lately and the stock lasts 5 of the 14 lead days."""
    values = dict(
        price=Decimal("20.00"),
        cost=None,
        status=StockStatus.RUNNING_OUT,
        stock=20,
        days_left=5.0,
        lead_days=14,
        daily_rate=4.0,
        recent_rate=2.0,
        views=300,
        orders=60,
        category="Kitchen",
        category_conversion=0.2,
    )
    return Evidence(**{**values, **changes})


def converting_badly(**changes) -> Evidence:
    """Viewed 400 times, bought 2 (0.5 %), its category converts 5 %."""
    values = dict(
        price=Decimal("20.00"),
        cost=None,
        status=StockStatus.OK,
        stock=100,
        days_left=40.0,
        lead_days=14,
        daily_rate=0.1,
        recent_rate=0.1,
        views=400,
        orders=2,
        category="Kitchen",
        category_conversion=0.05,
    )
    return Evidence(**{**values, **changes})


def test_rising_demand_and_low_stock_raise_the_price_within_the_bound():
    proposal = propose(running_out(), TODAY)
    assert proposal.direction == PriceSuggestion.Direction.RAISE
    # Unit elasticity would want 14/5 = 2.8 times the price: capped at +10 %.
    assert proposal.new_price == Decimal("22.00")
    assert proposal.evidence["bounds"] == ["capped at +10%"]
    assert proposal.evidence["elasticity_source"].startswith("assumed")
    assert "rising" in proposal.reason and "14-day restock" in proposal.reason


def test_a_confident_elasticity_sets_the_step(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRICE_MAX_CHANGE": 0.5}
    # Stock for 12 of 14 days; very elastic demand (-4): a small raise is enough.
    proposal = propose(running_out(days_left=12.0, elasticity=-4.0), TODAY)
    expected = Decimal("20.00") * Decimal(str(round((12 / 14) ** (1 / -4.0), 6)))
    assert proposal.new_price == expected.quantize(Decimal("0.01"))
    assert proposal.evidence["elasticity"] == -4.0
    assert proposal.evidence["elasticity_source"] == "estimated"


def test_steady_demand_does_not_raise_even_when_stock_is_low():
    assert propose(running_out(daily_rate=2.1), TODAY) is None


def test_many_views_and_low_conversion_lower_the_price_within_the_bound():
    proposal = propose(converting_badly(), TODAY)
    assert proposal.direction == PriceSuggestion.Direction.LOWER
    assert proposal.new_price == Decimal("18.00")  # -10 %, the bound
    assert "0.5% of views" in proposal.reason and "5.0% in its category" in proposal.reason


@pytest.mark.parametrize("bound", [0.05, 0.2])
def test_the_change_never_exceeds_the_max(settings, bound):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRICE_MAX_CHANGE": bound}
    for evidence in (running_out(), converting_badly()):
        proposal = propose(evidence, TODAY)
        change = abs(proposal.new_price - evidence.price) / evidence.price
        assert change <= Decimal(str(bound))


def test_a_lower_price_stops_at_cost():
    proposal = propose(converting_badly(cost=Decimal("19.00")), TODAY)
    assert proposal.new_price == Decimal("19.00")
    assert "floored at cost" in proposal.evidence["bounds"]
    # Already at cost: nothing to suggest.
    assert propose(converting_badly(cost=Decimal("20.00")), TODAY) is None


def test_no_suggestion_within_the_cooldown_of_the_last_change(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRICE_COOLDOWN_DAYS": 14}
    recent = running_out(last_change=TODAY - timedelta(days=13))
    assert propose(recent, TODAY) is None
    assert propose(running_out(last_change=TODAY - timedelta(days=14)), TODAY) is not None


def test_few_views_or_a_product_running_out_are_not_lowered():
    assert propose(converting_badly(views=20, orders=0), TODAY) is None
    assert propose(converting_badly(status=StockStatus.RUNNING_OUT), TODAY) is None


@pytest.mark.django_db
def test_a_pending_suggestion_stays_while_the_same_and_expires_when_not():
    proposal = propose(converting_badly(), TODAY)
    store_suggestions({"7": proposal}, {"7": "Teapot"}, {"7": Decimal("20.00")})
    assert store_suggestions({"7": proposal}, {"7": "Teapot"}, {"7": Decimal("20.00")}) == {
        "created": 0,
        "kept": 1,
        "expired": 0,
    }
    assert store_suggestions({}, {}, {}) == {"created": 0, "kept": 0, "expired": 1}
    (old,) = PriceSuggestion.objects.all()
    assert old.status == PriceSuggestion.Status.EXPIRED and "evidence changed" in old.note
    assert old.title == "Teapot" and old.old_price == Decimal("20.00")
