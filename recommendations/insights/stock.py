"""Days of stock left at the forecast rate, and what that says: about to run out, overstock.

A product is about to run out when its stock lasts no longer than a restock takes to arrive
(``RESTOCK_LEAD_DAYS``, or the adapter's ``restock_lead_days`` for the product): ordering now
is already late. It is overstock when the stock would last more than ``OVERSTOCK_WEEKS`` weeks
of forecast demand, including a product with stock and no demand forecast at all.
"""

from __future__ import annotations

from recommendations.models import StockStatus


def days_left(stock: int | None, rate: float) -> float | None:
    """Days ``stock`` lasts at ``rate`` units a day; ``None`` when uncounted or nothing sells."""
    if stock is None:
        return None
    if stock <= 0:
        return 0.0
    if rate <= 0:
        return None
    return stock / rate


def stock_status(
    stock: int | None, rate: float, *, lead_days: int, overstock_weeks: float
) -> StockStatus:
    """The stock status of a product with ``stock`` units selling ``rate`` units a day."""
    if stock is None:
        return StockStatus.UNCOUNTED
    if stock <= 0:
        return StockStatus.SOLD_OUT
    left = days_left(stock, rate)
    if left is None or left > overstock_weeks * 7:
        return StockStatus.OVERSTOCK
    if left <= lead_days:
        return StockStatus.RUNNING_OUT
    return StockStatus.OK
