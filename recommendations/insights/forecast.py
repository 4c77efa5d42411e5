"""Per-product demand forecasts, each product's method chosen by a time-split backtest.

Most products of a small shop sell a few units on some days and none on most: exponential
smoothing fitted to such a series chases each sale, while Croston-family methods (Croston, ADIDA,
IMAPA, TSB) forecast the size and the spacing of sales apart. Products are therefore first put in
a demand class (Syntetos-Boylan: mean interval between sales ≥ 1.32 days is intermittent), and
the class's candidate methods are compared on the product's own last ``holdout`` days, fitted on
the days before; the one with the lowest error wins and is refitted on everything. The error is
the mean absolute error for smooth demand and the root mean squared error for intermittent
demand (absolute error would pick whichever forecast is closest to zero).
The naive and seasonal naive errors of the same split are kept beside it, so the choice can be
checked against what a method that knows nothing would have done.

Before fitting, each day is capped at the 90th percentile of the product's selling days: one
wholesale order of thousands of units is not demand the next month repeats (on Online Retail the
cap lowers the chosen methods' MASE from 1.35 to 1.28, ``docs/benchmarks.md``).

The interval is conformal: the chosen method's absolute backtest errors give its half-width at
the requested level (a forecast of units cannot go below zero, so neither can the interval).

Pure numpy and statsforecast, no Django: the nightly job and ``bench/forecast.py`` call the same
function. statsforecast is imported here only, and this module only from worker-side code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoETS,
    CrostonOptimized,
    Naive,
    SeasonalExponentialSmoothingOptimized,
    SeasonalNaive,
    SeasonalWindowAverage,
    SimpleExponentialSmoothingOptimized,
)

#: Candidates for products that sell most days.
SMOOTH_METHODS = ("auto_ets", "seasonal_es", "seasonal_window_average", "ses")
SEASONAL_METHODS = frozenset({"seasonal_es", "seasonal_window_average"})
#: Candidates for products that sell on some days only.
INTERMITTENT_METHODS = ("croston", "adida", "imapa", "tsb")
CROSTON_FAMILY = frozenset(INTERMITTENT_METHODS)
#: Mean days between sales from which a series counts as intermittent (Syntetos & Boylan, 2005).
INTERMITTENT_ADI = 1.32


@dataclass(frozen=True)
class Forecast:
    """One product's forecast and how its method was chosen."""

    method: str
    demand_class: str
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    #: Backtest MAE of every candidate tried, and of ``naive`` and ``seasonal_naive``.
    backtest: dict[str, float] = field(default_factory=dict)
    #: For AutoETS, the components it chose (error, trend, season, damped), e.g. ``ANAN``.
    detail: str = ""

    @property
    def backtest_mae(self) -> float | None:
        return self.backtest.get(self.method)

    @property
    def seasonal(self) -> bool:
        """Whether the chosen model forecasts a weekly pattern."""
        return self.method in SEASONAL_METHODS or (
            self.method == "auto_ets" and len(self.detail) > 2 and self.detail[2] != "N"
        )


def demand_class(y: np.ndarray) -> str:
    """``no_sales``, ``intermittent`` or ``smooth`` by the mean interval between days with sales."""
    selling = np.flatnonzero(y > 0)
    if selling.size == 0:
        return "no_sales"
    adi = len(y) / selling.size
    return "intermittent" if adi >= INTERMITTENT_ADI else "smooth"


def _model(name: str, season: int) -> Any:
    if name == "auto_ets":
        return AutoETS(season_length=season)
    if name == "seasonal_es":
        return SeasonalExponentialSmoothingOptimized(season_length=season)
    if name == "seasonal_window_average":
        return SeasonalWindowAverage(season_length=season, window_size=4)
    if name == "ses":
        return SimpleExponentialSmoothingOptimized()
    if name == "croston":
        return CrostonOptimized()
    if name == "adida":
        return ADIDA()
    if name == "imapa":
        return IMAPA()
    if name == "tsb":
        return TSB(alpha_d=0.1, alpha_p=0.1)
    if name == "seasonal_naive":
        return SeasonalNaive(season_length=season)
    if name == "naive":
        return Naive()
    raise ValueError(f"unknown forecast method {name!r}")


def predict(name: str, y: np.ndarray, horizon: int, season: int = 7) -> tuple[np.ndarray, str]:
    """``horizon`` point forecasts of method ``name`` fitted on ``y`` (never below zero), and the
    components AutoETS chose ("" for other methods)."""
    model = _model(name, season)
    if name in ("seasonal_es", "seasonal_naive") and len(y) < season:
        raise ValueError("shorter than one season")
    if name == "seasonal_window_average" and len(y) < 4 * season:
        raise ValueError("shorter than one season")
    fitted = model.fit(y.astype(np.float64))
    mean = np.asarray(fitted.predict(h=horizon)["mean"], dtype=np.float64)
    detail = str(fitted.model_["components"]) if name == "auto_ets" else ""
    return np.clip(np.nan_to_num(mean, nan=0.0), 0.0, None), detail


def candidates_for(kind: str) -> tuple[str, ...]:
    return INTERMITTENT_METHODS if kind == "intermittent" else SMOOTH_METHODS


def backtest(
    y: np.ndarray, methods: Sequence[str], *, holdout: int, season: int = 7
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each method's MAE on the last ``holdout`` days of ``y``, fitted on the days before, and
    its errors (actual - forecast) day by day; a method that cannot fit the series is left out."""
    train, test = y[:-holdout], y[-holdout:]
    errors: dict[str, float] = {}
    residuals: dict[str, np.ndarray] = {}
    for name in methods:
        try:
            mean, _ = predict(name, train, holdout, season)
        except Exception:  # a model that cannot fit this series is no candidate for it
            continue
        residuals[name] = test - mean
        errors[name] = float(np.mean(np.abs(residuals[name])))
    return errors, residuals


def forecast(
    y: Sequence[float] | np.ndarray,
    *,
    horizon: int = 28,
    holdout: int = 28,
    season: int = 7,
    level: float = 80,
    methods: Sequence[str] | None = None,
    cap_quantile: float | None = 0.9,
) -> Forecast:
    """The forecast of the next ``horizon`` days after daily series ``y`` (oldest first), by the
    candidate with the lowest backtest MAE on its last ``holdout`` days.

    A series without sales forecasts zero. One too short to hold ``holdout`` days out and still
    fit on as many (a product a few weeks old) is fitted with the class's first candidate
    unchecked, its interval from the in-sample spread.
    """
    series = np.asarray(y, dtype=np.float64)
    kind = demand_class(series)
    if cap_quantile is not None and kind != "no_sales":
        series = np.minimum(series, np.quantile(series[series > 0], cap_quantile))
    zeros = np.zeros(horizon)
    if kind == "no_sales":
        return Forecast("zero", kind, zeros, zeros, zeros.copy(), {})
    names = tuple(methods) if methods is not None else candidates_for(kind)
    scores: dict[str, float] = {}
    residuals: dict[str, np.ndarray] = {}
    if len(series) >= 2 * holdout:
        scores, residuals = backtest(series, names, holdout=holdout, season=season)
        baselines, _ = backtest(series, ("naive", "seasonal_naive"), holdout=holdout, season=season)
    else:
        baselines = {}
    # Mean absolute error rewards forecasting zero for a product that sells on few days, which
    # says it never sells again; squared error is lowest at the mean rate, which stock needs.
    if kind == "intermittent":
        criterion = {name: float(np.sqrt(np.mean(residuals[name] ** 2))) for name in scores}
    else:
        criterion = scores
    ranked = sorted(criterion, key=lambda name: (criterion[name], names.index(name)))
    for name in [*ranked, *(n for n in names if n not in scores), "naive"]:
        try:
            mean, detail = predict(name, series, horizon, season)
        except Exception:
            continue
        break
    spread = residuals[name] if name in residuals else series - float(np.mean(series))
    half = float(np.quantile(np.abs(spread), level / 100)) if spread.size else 0.0
    return Forecast(
        method=name,
        demand_class=kind,
        mean=mean,
        lo=np.clip(mean - half, 0.0, None),
        hi=mean + half,
        backtest={**scores, **baselines},
        detail=detail,
    )


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, season: int = 7) -> float:
    """Mean absolute scaled error: the forecast's MAE over the in-sample MAE of the seasonal
    naive forecast on ``history`` (``nan`` when that is zero, e.g. no sales at all)."""
    if len(history) <= season:
        return float("nan")
    scale = float(np.mean(np.abs(history[season:] - history[:-season])))
    if scale == 0:
        return float("nan")
    return float(np.mean(np.abs(actual - predicted))) / scale
