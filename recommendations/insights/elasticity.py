"""Price elasticity of demand from the store's own price changes.

A log-log regression of daily units on the day's average price paid, per product: its slope is
the elasticity (-1.5: a 10 % higher price sells about 15 % fewer units). It is estimated only
where the price varied; a product always sold at one price says nothing about what another
price would do, and nothing is claimed for it. Days without a sale have no price and are left
out, so the estimate describes days that sold; other causes of demand (season, promotion,
quantity discounts) move with price in such data, which the confidence statement cannot undo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Smallest relative spread of prices (max / min - 1) that counts as a price change.
MIN_SPREAD = 0.01


@dataclass(frozen=True)
class Elasticity:
    """The estimate with its confidence interval, or only a note saying why there is none."""

    note: str
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    days: int = 0
    prices: int = 0

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero (the data tell price moved demand at all)."""
        return self.hi is not None and self.lo is not None and (self.hi < 0 or self.lo > 0)


def estimate(
    units: np.ndarray, prices: np.ndarray, *, min_days: int = 8, confidence: float = 0.95
) -> Elasticity:
    """Elasticity of ``units`` with respect to ``prices`` (same days; ``nan`` price: no sale)."""
    sold = (units > 0) & np.isfinite(prices) & (prices > 0)
    quantity, price = units[sold], prices[sold]
    distinct = len(np.unique(np.round(price, 2)))
    if distinct < 2 or price.max() / price.min() - 1 < MIN_SPREAD:
        return Elasticity("The price never varied: no elasticity claimed.", days=int(sold.sum()))
    if len(price) < min_days:
        return Elasticity(
            f"Only {len(price)} days with sales at {distinct} prices (at least {min_days} "
            "needed): no elasticity claimed.",
            days=len(price),
            prices=distinct,
        )
    fit = stats.linregress(np.log(price), np.log(quantity))
    half = float(stats.t.ppf((1 + confidence) / 2, len(price) - 2) * fit.stderr)
    slope = float(fit.slope)
    result = Elasticity("", slope, slope - half, slope + half, len(price), distinct)
    level = f"{confidence:.0%}"
    if not result.significant:
        verdict = "not distinguishable from no effect of price"
    elif slope < -1:
        verdict = "elastic: a lower price sells more than proportionally more"
    elif slope < 0:
        verdict = "inelastic: demand falls less than proportionally when the price rises"
    else:
        verdict = "positive: demand rose with price, so something else moved with it"
    note = (
        f"Elasticity {slope:.2f} ({level} interval {slope - half:.2f} to {slope + half:.2f}) "
        f"from {len(price)} days at {distinct} prices; {verdict}."
    )
    return Elasticity(note, slope, slope - half, slope + half, len(price), distinct)
