"""Demand forecast accuracy on Online Retail: the per-product method the nightly job would choose
against seasonal naive and naive, on a time split with several cut-offs.

For each cut-off, every product's daily units up to the cut-off are the history; the next
``--horizon`` days are forecast and scored. MASE scales each product's MAE by the in-sample MAE
of the weekly seasonal naive forecast on its history, so products of any size weigh the same;
RMSSE (the M5 competition's measure) does the same with squared errors. The aggregate is the
mean over (product, cut-off) pairs.

    .venv/bin/python bench/forecast.py            # every product, 4 cut-offs
    .venv/bin/python bench/forecast.py --products 100 --cutoffs 2

Reads ../shared/data/online_retail/online_retail.csv.gz (never copied into the repository).
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import CITATION, RETAIL_PATH, machine, print_header, print_table
from recommendations.insights.elasticity import estimate
from recommendations.insights.forecast import (
    CROSTON_FAMILY,
    forecast,
    mase,
    predict,
)

#: The last full day of the data is 2011-12-08 (the file ends at noon on the 9th).
LAST_DAY = date(2011, 12, 8)


def daily_units(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], date]:
    """Units sold and the average unit price paid per product per day (kept purchase lines:
    positive quantity and price, not a cancellation, a five-digit stock code), every series on
    one calendar from the first day (price ``nan`` on days without a sale)."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        frame = pd.read_csv(
            handle,
            usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice"],
            dtype={"InvoiceNo": str, "StockCode": str},
        )
    frame = frame[
        (frame.Quantity > 0)
        & (frame.UnitPrice > 0)
        & ~frame.InvoiceNo.str.startswith("C")
        & frame.StockCode.str.match(r"^\d{5}")
    ]
    frame = frame.assign(
        day=pd.to_datetime(frame.InvoiceDate, format="mixed").dt.date,
        paid=frame.Quantity * frame.UnitPrice,
    )
    first = min(frame.day)
    days = (LAST_DAY - first).days + 1
    totals = frame.groupby(["StockCode", "day"])[["Quantity", "paid"]].sum()
    series: dict[str, np.ndarray] = {}
    prices: dict[str, np.ndarray] = {}
    for (code, day), quantity, paid in zip(totals.index, totals.Quantity, totals.paid, strict=True):
        if day > LAST_DAY:
            continue
        index = (day - first).days
        series.setdefault(code, np.zeros(days))[index] = quantity
        prices.setdefault(code, np.full(days, np.nan))[index] = paid / quantity
    return series, prices, first


def elasticities(
    series: dict[str, np.ndarray], prices: dict[str, np.ndarray]
) -> tuple[dict[str, int], list[float]]:
    """How many products have price variation, an estimate, and one whose interval excludes
    zero, with the significant estimates."""
    counts = {"varied": 0, "estimated": 0, "significant": 0}
    significant: list[float] = []
    for code, units in series.items():
        result = estimate(units, prices[code])
        counts["varied"] += "never varied" not in result.note
        if result.value is None:
            continue
        counts["estimated"] += 1
        if result.significant:
            counts["significant"] += 1
            significant.append(result.value)
    return counts, significant


def cutoffs(count: int, horizon: int) -> list[date]:
    """``count`` cut-offs ``horizon`` days apart, the last leaving a full horizon before the end."""
    last = LAST_DAY - timedelta(days=horizon)
    return [last - timedelta(days=horizon * i) for i in range(count - 1, -1, -1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--products", type=int, default=0, help="top products by units sold (0: every product)"
    )
    parser.add_argument("--cutoffs", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--holdout", type=int, default=28, help="backtest days for the choice")
    parser.add_argument(
        "--cap", type=float, default=0.9, help="quantile of selling days to cap at (0: no cap)"
    )
    parser.add_argument("--path", type=Path, default=RETAIL_PATH)
    args = parser.parse_args()

    started = time.perf_counter()
    series, prices, first = daily_units(args.path)
    totals = sorted(series, key=lambda code: -series[code].sum())
    chosen_codes = totals[: args.products] if args.products else totals
    points = cutoffs(args.cutoffs, args.horizon)
    load_s = time.perf_counter() - started
    print_header(
        "Demand forecasts: chosen method vs seasonal naive and naive",
        f"Online Retail ({CITATION}); {len(chosen_codes):,} of {len(series):,} products "
        f"(top by units sold); "
        f"cut-offs {', '.join(p.isoformat() for p in points)}; horizon {args.horizon} days; "
        f"backtest {args.holdout} days; history capped at the {args.cap:g} quantile of selling days"
        if args.cap
        else f"backtest {args.holdout} days; history not capped",
    )

    scores: dict[str, list[float]] = {"chosen": [], "seasonal_naive": [], "naive": []}
    squared: dict[str, list[float]] = {"chosen": [], "seasonal_naive": [], "naive": []}
    methods: dict[str, int] = {}
    skipped = 0
    fit_started = time.perf_counter()
    for code in chosen_codes:
        y = series[code]
        start = int(np.flatnonzero(y > 0)[0])
        for point in points:
            end = (point - first).days + 1
            history, actual = y[start:end], y[end : end + args.horizon]
            if len(history) < 2 * args.holdout or history.sum() == 0:
                skipped += 1
                continue
            scale = float(np.mean(np.abs(history[7:] - history[:-7])))
            squared_scale = float(np.mean((history[7:] - history[:-7]) ** 2))
            if scale == 0:
                skipped += 1
                continue
            result = forecast(
                history,
                horizon=args.horizon,
                holdout=args.holdout,
                cap_quantile=args.cap or None,
            )
            methods[result.method] = methods.get(result.method, 0) + 1
            predictions = {
                "chosen": result.mean,
                "seasonal_naive": predict("seasonal_naive", history, args.horizon)[0],
                "naive": predict("naive", history, args.horizon)[0],
            }
            for name, predicted in predictions.items():
                scores[name].append(mase(actual, predicted, history))
                squared[name].append(
                    float(np.sqrt(np.mean((actual - predicted) ** 2) / squared_scale))
                )
    fit_s = time.perf_counter() - fit_started

    pairs = len(scores["chosen"])
    aggregate = {name: float(np.mean(values)) for name, values in scores.items()}
    rmsse = {name: float(np.mean(values)) for name, values in squared.items()}
    print_table(
        ["method", "MASE", "RMSSE", "MASE vs seasonal naive"],
        [
            [
                name,
                round(aggregate[name], 4),
                round(rmsse[name], 4),
                round(aggregate[name] / aggregate["seasonal_naive"], 4),
            ]
            for name in ("chosen", "seasonal_naive", "naive")
        ],
    )
    croston = sum(count for name, count in methods.items() if name in CROSTON_FAMILY)
    print(
        f"\nmethods chosen: {', '.join(f'{k} {v}' for k, v in sorted(methods.items()))} "
        f"(Croston family {croston} of {pairs})"
    )
    counts, significant = elasticities(series, prices)
    print(
        f"elasticity over the whole year: {counts['varied']:,} of {len(series):,} products had "
        f"price changes, {counts['estimated']:,} enough days for an estimate, "
        f"{counts['significant']:,} an interval excluding zero"
        + (
            f" (median {np.median(significant):.2f}, quartiles "
            f"{np.percentile(significant, 25):.2f} to {np.percentile(significant, 75):.2f}; "
            f"{np.mean(np.array(significant) < 0):.0%} negative)"
            if significant
            else ""
        )
    )
    gain = 1 - aggregate["chosen"] / aggregate["seasonal_naive"]
    print(
        f"{pairs} (product, cut-off) pairs, {skipped} skipped (under {2 * args.holdout} days of "
        f"history or no weekly variation); chosen MASE is {gain:.1%} below seasonal naive"
    )
    print(
        f"load {load_s:.1f} s, fit and score {fit_s:.1f} s; statsforecast "
        f"{importlib.metadata.version('statsforecast')}; {machine()}"
    )
    print(f"command: .venv/bin/python bench/forecast.py {' '.join(sys.argv[1:])}".rstrip())
    print(
        json.dumps(
            {
                "mase": round(aggregate["chosen"], 4),
                "seasonal_naive_mase": round(aggregate["seasonal_naive"], 4),
                "naive_mase": round(aggregate["naive"], 4),
                "products": len(chosen_codes),
                "cutoffs": len(points),
                "pairs": pairs,
                "ratio_vs_seasonal_naive": round(
                    aggregate["chosen"] / aggregate["seasonal_naive"], 4
                ),
                "rmsse": round(rmsse["chosen"], 4),
                "seasonal_naive_rmsse": round(rmsse["seasonal_naive"], 4),
                "naive_rmsse": round(rmsse["naive"], 4),
                "elasticity_significant": counts["significant"],
                "elasticity_median": round(float(np.median(significant)), 3)
                if significant
                else None,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
