"""Days of stock left and the status they give; elasticity from price changes."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.insights.elasticity import estimate
from recommendations.insights.stock import days_left, stock_status
from recommendations.models import StockStatus


@pytest.mark.parametrize(
    ("stock", "rate", "expected"),
    [
        (None, 2.0, StockStatus.UNCOUNTED),
        (0, 2.0, StockStatus.SOLD_OUT),
        (20, 2.0, StockStatus.RUNNING_OUT),  # 10 days, within the 14-day lead time
        (28, 2.0, StockStatus.RUNNING_OUT),  # exactly the lead time: ordering now is late
        (30, 2.0, StockStatus.OK),
        (200, 2.0, StockStatus.OVERSTOCK),  # 100 days > 12 weeks
        (5, 0.0, StockStatus.OVERSTOCK),  # stock and no demand at all
    ],
)
def test_stock_status(stock, rate, expected):
    assert stock_status(stock, rate, lead_days=14, overstock_weeks=12) == expected


def test_days_left():
    assert days_left(30, 3.0) == 10
    assert days_left(0, 3.0) == 0
    assert days_left(30, 0.0) is None
    assert days_left(None, 3.0) is None


def _priced_sales(elasticity: float, days: int = 120, seed: int = 0):
    """Units at a few prices with constant-elasticity demand and noise."""
    rng = np.random.default_rng(seed)
    prices = rng.choice([8.0, 9.0, 10.0, 11.0, 12.0], size=days)
    expected = 20 * (prices / 10) ** elasticity
    units = rng.poisson(expected).astype(float)
    return units, prices


@pytest.mark.parametrize("true", [-2.0, -0.5])
def test_a_known_elasticity_is_recovered_with_its_interval(true):
    units, prices = _priced_sales(true, days=240)
    result = estimate(units, prices)
    assert result.significant
    assert abs(result.value - true) < 0.3
    assert result.prices == 5 and result.days == 240
    assert "95% interval" in result.note
    assert ("; elastic:" in result.note) == (true < -1)


def test_the_95_percent_interval_holds_the_true_elasticity_about_that_often():
    covered = 0
    for seed in range(40):
        result = estimate(*_priced_sales(-1.5, seed=seed))
        covered += result.lo < -1.5 < result.hi
    assert covered >= 34  # 95 % of 40 is 38; at least 34 leaves room for chance, not for a bias


def test_nothing_is_claimed_where_the_price_never_varied():
    units = np.random.default_rng(0).poisson(5, 90).astype(float)
    result = estimate(units, np.full(90, 10.0))
    assert result.value is None and not result.significant
    assert "never varied" in result.note


def test_too_few_days_with_sales_claim_nothing():
    units = np.array([3, 0, 2, 0, 4, 0, 0.0])
    prices = np.array([10, np.nan, 11, np.nan, 12, np.nan, np.nan])
    result = estimate(units, prices, min_days=8)
    assert result.value is None and "Only 3 days" in result.note


def test_no_relation_is_said_to_be_indistinguishable_from_none():
    rng = np.random.default_rng(3)
    prices = rng.choice([9.0, 10.0, 11.0], size=60)
    units = rng.poisson(10, 60).astype(float)
    result = estimate(units, prices)
    assert result.value is not None
    if not result.significant:
        assert "not distinguishable" in result.note
