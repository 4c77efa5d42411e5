"""The nightly insights run: daily demand → forecasts → stock status → elasticity → suggestions.

Run by the ``recommendations.forecast_demand`` task (beat: nightly) and by
``manage.py recommendations_forecast``. Each product gets a fresh
:class:`~recommendations.models.ProductInsight` and its forecast rows, written in one transaction,
so admin never shows half a night's work. Products are judged on their history from their first
day with any behaviour: one younger than ``INSIGHTS_MIN_HISTORY_DAYS`` (created yesterday, say)
is "too new" and gets no forecast, no stock warning and no price suggestion; one with behaviour
but no sales forecasts zero.

Worker-side only: it imports statsforecast (through :mod:`.forecast`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from recommendations.catalog import ItemInfo, get_catalog
from recommendations.conf import app_settings
from recommendations.models import DemandForecast, ProductInsight, StockStatus

from . import demand, elasticity, pricing, stock
from .forecast import forecast

#: Days the "recent" rates and conversions are measured over.
RECENT_DAYS = 28


@dataclass
class InsightsResult:
    products: int = 0
    forecast: int = 0
    too_new: int = 0
    demand_days: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    suggestions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _last_price_change(history: demand.History) -> date | None:
    """The last day the average price paid differed from the day with sales before it."""
    seen = np.flatnonzero(np.isfinite(history.prices))
    prices = history.prices[seen]
    changed = np.flatnonzero(np.abs(np.diff(prices)) >= 0.005)
    return history.day(int(seen[changed[-1] + 1])) if changed.size else None


def compute_insights(today: date | None = None, *, progress: bool = False) -> InsightsResult:
    """Recompute every active product's insights from the events up to yesterday."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    end = today - timedelta(days=1)
    start = end - timedelta(days=app_settings.INSIGHTS_HISTORY_DAYS - 1)
    result = InsightsResult(demand_days=demand.store_daily(start, end))
    catalog = get_catalog()
    products: dict[str, ItemInfo] = {
        info.item_id: info for info in catalog.all_items() if info.active
    }
    ids = list(products)
    histories = demand.histories(ids, start, end)
    levels = catalog.stock_levels(ids)
    leads = catalog.restock_lead_days(ids)
    costs = catalog.costs(ids)
    changed = pricing.last_changes(ids)
    horizon = app_settings.INSIGHTS_HORIZON_DAYS
    now = timezone.now()

    insights: list[ProductInsight] = []
    rows: list[DemandForecast] = []
    for item_id in tqdm(ids, desc="Forecasting", disable=not progress, leave=False):
        info = products[item_id]
        history = histories.get(item_id)
        lead = int(leads.get(item_id, app_settings.RESTOCK_LEAD_DAYS))
        level = levels.get(item_id)
        insight = ProductInsight(
            item_id=item_id[:64],
            title=info.title[:200],
            category=info.category[:200],
            computed_at=now,
            history_days=history.days if history else 0,
            stock=level,
            lead_days=lead,
        )
        insights.append(insight)
        if history is None or history.days < app_settings.INSIGHTS_MIN_HISTORY_DAYS:
            insight.demand_class, insight.status = "too_new", StockStatus.TOO_NEW
            if level is not None and level <= 0:
                insight.status = StockStatus.SOLD_OUT
            result.too_new += 1
            continue
        predicted = forecast(
            history.units,
            horizon=horizon,
            holdout=app_settings.INSIGHTS_BACKTEST_DAYS,
            season=app_settings.INSIGHTS_SEASON_LENGTH,
            level=app_settings.INSIGHTS_INTERVAL_LEVEL,
        )
        result.forecast += 1
        insight.demand_class = predicted.demand_class
        insight.method = predicted.method
        insight.backtest = {"mae": predicted.backtest, "ets": predicted.detail}
        insight.backtest_mae = predicted.backtest_mae
        insight.naive_mae = predicted.backtest.get("naive")
        insight.daily_rate = float(np.mean(predicted.mean))
        insight.recent_rate = float(np.mean(history.units[-RECENT_DAYS:]))
        insight.days_left = stock.days_left(level, insight.daily_rate)
        insight.status = stock.stock_status(
            level,
            insight.daily_rate,
            lead_days=lead,
            overstock_weeks=app_settings.OVERSTOCK_WEEKS,
        )
        estimate = elasticity.estimate(
            history.units, history.prices, min_days=app_settings.ELASTICITY_MIN_DAYS
        )
        insight.elasticity, insight.elasticity_note = estimate.value, estimate.note[:300]
        insight.elasticity_lo, insight.elasticity_hi = estimate.lo, estimate.hi
        observed = _last_price_change(history)
        if observed is not None and (item_id not in changed or changed[item_id] < observed):
            changed[item_id] = observed
        result.methods[predicted.method] = result.methods.get(predicted.method, 0) + 1
        rows += [
            DemandForecast(
                item_id=item_id[:64],
                day=today + timedelta(days=offset),
                yhat=float(predicted.mean[offset]),
                lo=float(predicted.lo[offset]),
                hi=float(predicted.hi[offset]),
            )
            for offset in range(horizon)
        ]

    with transaction.atomic():
        ProductInsight.objects.all().delete()
        DemandForecast.objects.all().delete()
        ProductInsight.objects.bulk_create(insights, batch_size=demand.BATCH)
        DemandForecast.objects.bulk_create(rows, batch_size=demand.BATCH)
    for insight in insights:
        result.statuses[insight.status] = result.statuses.get(insight.status, 0) + 1
    result.products = len(insights)
    result.suggestions = _suggest(insights, histories, products, costs, changed, today)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def _suggest(
    insights: list[ProductInsight],
    histories: dict[str, demand.History],
    products: dict[str, ItemInfo],
    costs: dict[str, Decimal],
    changed: dict[str, date],
    today: date,
) -> dict[str, int]:
    """Price suggestions for the products with a forecast and a price."""
    recent: dict[str, tuple[int, int]] = {}
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for insight in insights:
        history = histories.get(insight.item_id)
        if history is None:
            continue
        views = int(history.views[-RECENT_DAYS:].sum())
        orders = int(history.orders[-RECENT_DAYS:].sum())
        recent[insight.item_id] = (views, orders)
        totals = by_category[insight.category]
        totals[0] += views
        totals[1] += orders
    proposals: dict[str, pricing.Proposal] = {}
    prices: dict[str, Decimal] = {}
    for insight in insights:
        price = products[insight.item_id].price
        if not insight.method or price is None or insight.item_id not in recent:
            continue
        views, orders = recent[insight.item_id]
        category_views, category_orders = by_category[insight.category]
        significant = (
            insight.elasticity_hi is not None
            and insight.elasticity_lo is not None
            and (insight.elasticity_hi < 0 or insight.elasticity_lo > 0)
        )
        proposal = pricing.propose(
            pricing.Evidence(
                price=price.quantize(pricing.CENT),
                cost=costs.get(insight.item_id),
                status=insight.status,
                stock=insight.stock,
                days_left=insight.days_left,
                lead_days=insight.lead_days,
                daily_rate=insight.daily_rate,
                recent_rate=insight.recent_rate,
                views=views,
                orders=orders,
                category=insight.category,
                category_conversion=(category_orders / category_views if category_views else None),
                elasticity=insight.elasticity if significant else None,
                last_change=changed.get(insight.item_id),
            ),
            today,
        )
        if proposal is not None:
            proposals[insight.item_id] = proposal
            prices[insight.item_id] = price.quantize(pricing.CENT)
    titles = {item_id: products[item_id].title for item_id in proposals}
    return pricing.store_suggestions(proposals, titles, prices)
