"""The per-product method choice on generated series whose shape is known."""

from __future__ import annotations

import numpy as np
import pytest

from recommendations.insights.forecast import (
    CROSTON_FAMILY,
    backtest,
    demand_class,
    forecast,
    predict,
)

WEEKLY = np.array([2.0, 3.0, 4.0, 5.0, 9.0, 14.0, 6.0])


def weekly_series(days: int = 140, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.poisson(WEEKLY[np.arange(days) % 7] * 2).astype(float)


#: Sales on about three days in ten, of 1-3 units: 0.6 units a day on average.
SALE_CHANCE, RATE = 0.3, 0.6


def intermittent_series(days: int = 364, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.random(days) < SALE_CHANCE) * rng.integers(1, 4, days)).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_weekly_pattern_gets_a_seasonal_model_that_beats_naive(seed):
    y = weekly_series(seed=seed)
    history, future = y[:-28], y[-28:]
    result = forecast(history, horizon=28)
    assert result.demand_class == "smooth"
    assert result.seasonal, (result.method, result.detail)
    # The forecast follows the week: its busiest weekday is the generated one.
    weekday_means = [result.mean[(i - len(history)) % 7 :: 7].mean() for i in range(7)]
    assert int(np.argmax(weekday_means)) == int(np.argmax(WEEKLY))
    # On days it has not seen, it beats the naive forecast, and did so in its own backtest.
    naive = predict("naive", history, 28)[0]
    assert np.abs(future - result.mean).mean() < 0.7 * np.abs(future - naive).mean()
    assert result.backtest[result.method] < result.backtest["naive"]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_intermittent_sales_get_a_croston_family_model(seed):
    y = intermittent_series(seed=seed)
    history = y[:-28]
    result = forecast(history, horizon=28)
    assert result.demand_class == "intermittent"
    assert result.method in CROSTON_FAMILY
    # Naive repeats the last day: mostly zero ("never sells again"), else a sale every day.
    # Stock warnings use the rate of demand, which the Croston family gets closer to.
    rate, naive_rate = result.mean.mean(), predict("naive", history, 28)[0].mean()
    assert abs(rate - RATE) < abs(naive_rate - RATE)
    assert 0.4 * RATE < rate < 2 * RATE


def test_the_interval_holds_the_forecast_and_never_goes_below_zero():
    result = forecast(weekly_series(), horizon=28, level=80)
    assert np.all(result.lo >= 0)
    assert np.all(result.lo <= result.mean) and np.all(result.mean <= result.hi)
    assert np.any(result.hi > result.mean)
    # Wider at a higher level.
    wide = forecast(weekly_series(), horizon=28, level=95)
    assert wide.method == result.method
    assert (wide.hi - wide.lo).mean() > (result.hi - result.lo).mean()


def test_no_sales_forecasts_zero_without_fitting():
    result = forecast(np.zeros(60), horizon=28)
    assert result.method == "zero" and result.demand_class == "no_sales"
    assert result.mean.sum() == 0 and result.hi.sum() == 0


def test_a_short_history_is_fitted_without_a_backtest():
    result = forecast(weekly_series(days=30), horizon=14, holdout=28)
    assert result.backtest == {}
    assert result.method and len(result.mean) == 14 and np.all(np.isfinite(result.mean))


def test_one_huge_order_does_not_set_next_months_forecast():
    y = weekly_series()
    spiked = y.copy()
    spiked[-10] = 5_000
    assert forecast(spiked).mean.mean() < 2 * forecast(y).mean.mean()


def test_demand_classes():
    assert demand_class(np.zeros(10)) == "no_sales"
    assert demand_class(np.ones(10)) == "smooth"
    assert demand_class(np.array([0, 0, 1, 0, 0, 2, 0, 0.0])) == "intermittent"


def test_backtest_scores_on_the_days_held_out():
    y = np.concatenate([np.full(56, 5.0), np.full(28, 5.0)])
    errors, residuals = backtest(y, ("naive", "ses"), holdout=28)
    assert errors == {"naive": 0.0, "ses": pytest.approx(0.0, abs=1e-6)}
    assert residuals["naive"].shape == (28,)
