"""The nightly run on the demo store's own products: every kind of product, its rows, its task."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from recommendations.insights.nightly import compute_insights
from recommendations.models import (
    DemandDay,
    DemandForecast,
    EventKind,
    PriceSuggestion,
    ProductInsight,
    StockStatus,
)
from recommendations.tasks import forecast_demand

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(make_product, record):
    """A steady seller low on stock, a product viewed but never bought, one created yesterday,
    one without any behaviour, and one viewed a lot but rarely bought in a converting category."""
    teapot = make_product("Teapot", stock=10)
    record(teapot, {d: 3 for d in range(1, 61)})
    record(teapot, {d: 20 for d in range(1, 61)}, EventKind.VIEW)
    record(teapot, {d: 4 for d in range(1, 61)}, EventKind.ADD_TO_CART)
    vase = make_product("Old vase", stock=50)
    record(vase, {d: 2 for d in range(1, 61)}, EventKind.VIEW)
    mug = make_product("New mug", stock=5)
    record(mug, {1: 1})
    record(mug, {1: 3}, EventKind.VIEW)
    ghost = make_product("Unseen lamp", stock=7)
    lamp = make_product("Shiny lamp", stock=100, price="40.00")
    record(lamp, {d: 8 for d in range(1, 61)}, EventKind.VIEW)
    record(lamp, {d: 1 for d in range(3, 61, 10)})
    return {"teapot": teapot, "vase": vase, "mug": mug, "ghost": ghost, "lamp": lamp}


def insight(product) -> ProductInsight:
    return ProductInsight.objects.get(item_id=str(product.pk))


def test_every_product_gets_its_status(store, today):
    result = compute_insights(today)
    assert result.products == 5 and result.forecast == 3 and result.too_new == 2

    teapot = insight(store["teapot"])
    assert teapot.demand_class == "smooth" and teapot.method
    assert teapot.daily_rate == pytest.approx(3.0, rel=0.1)
    assert teapot.days_left == pytest.approx(10 / teapot.daily_rate)
    assert teapot.status == StockStatus.RUNNING_OUT and teapot.title == "Teapot"
    assert teapot.backtest_mae is not None and teapot.naive_mae is not None
    assert "never varied" in teapot.elasticity_note

    vase = insight(store["vase"])  # no sales: forecast zero, and 50 units will not move
    assert (vase.demand_class, vase.method, vase.daily_rate) == ("no_sales", "zero", 0.0)
    assert vase.status == StockStatus.OVERSTOCK and vase.days_left is None

    for new in ("mug", "ghost"):  # created yesterday; never seen at all
        row = insight(store[new])
        assert row.status == StockStatus.TOO_NEW and not row.method
        assert not DemandForecast.objects.filter(item_id=str(store[new].pk)).exists()
    assert insight(store["mug"]).history_days == 1

    forecasts = DemandForecast.objects.filter(item_id=str(store["teapot"].pk)).order_by("day")
    assert forecasts.count() == 28
    assert forecasts[0].day == today and forecasts[27].day == today + timedelta(days=27)
    assert all(row.lo <= row.yhat <= row.hi for row in forecasts)

    # Views and add-to-carts are kept beside the units they lead.
    yesterday = DemandDay.objects.get(item_id=str(store["teapot"].pk), day=today - timedelta(1))
    assert (yesterday.units, yesterday.views, yesterday.carts) == (3.0, 20, 4)
    assert yesterday.price == Decimal("10.00")


def test_a_rarely_bought_lamp_gets_a_lower_price_suggestion(store, today):
    compute_insights(today)
    (suggestion,) = PriceSuggestion.objects.filter(item_id=str(store["lamp"].pk))
    assert suggestion.direction == PriceSuggestion.Direction.LOWER
    assert suggestion.old_price == Decimal("40.00") and suggestion.new_price == Decimal("36.00")
    assert suggestion.title == "Shiny lamp" and "Viewed 224 times" in suggestion.reason
    assert suggestion.evidence["views_28_days"] == 224
    assert suggestion.status == PriceSuggestion.Status.PENDING


def test_rerunning_rewrites_the_night_instead_of_adding_to_it(store, today):
    first = compute_insights(today)
    again = compute_insights(today)
    assert again.products == first.products and again.statuses == first.statuses
    assert DemandForecast.objects.count() == 3 * 28
    # The lamp's and the vase's (viewed, never bought) suggestions are still the same.
    assert again.suggestions == {"created": 0, "kept": 2, "expired": 0}
    assert set(PriceSuggestion.objects.values_list("title", flat=True)) == {
        "Shiny lamp",
        "Old vase",
    }


def test_a_price_change_in_the_events_starts_the_cooldown(store, record, today):
    lamp = store["lamp"]
    record(lamp, {1: 1}, price="44.00")  # sold at another price yesterday
    compute_insights(today)
    assert not PriceSuggestion.objects.filter(item_id=str(lamp.pk)).exists()


def test_the_nightly_task_and_the_command(store, capsys):
    result = forecast_demand.delay().get()
    assert result["products"] == 5 and result["statuses"]["running_out"] == 1
    call_command("recommendations_forecast", verbosity=0)
    out = capsys.readouterr().out
    assert "5 products: 3 forecast, 2 too new" in out and "price suggestions" in out


def test_an_empty_store_is_fine(db, today):
    result = compute_insights(today)
    assert result.products == 0 and ProductInsight.objects.count() == 0


def test_rising_demand_and_low_stock_suggest_a_higher_price(make_product, record, today):
    kettle = make_product("Kettle", stock=20, price="30.00")
    steady = {d: 1 for d in range(29, 91)}
    rising = {d: 2 + (28 - d) // 4 for d in range(1, 29)}  # 2 a day a month ago, 8 yesterday
    record(kettle, {**steady, **rising})
    compute_insights(today)
    row = insight(kettle)
    assert row.status == StockStatus.RUNNING_OUT
    assert row.daily_rate >= 1.2 * row.recent_rate, (row.method, row.daily_rate, row.recent_rate)
    (suggestion,) = PriceSuggestion.objects.filter(item_id=str(kettle.pk))
    assert suggestion.direction == PriceSuggestion.Direction.RAISE
    assert suggestion.new_price == Decimal("33.00")  # the 10 % bound
    assert "Demand is rising" in suggestion.reason
    assert suggestion.evidence["elasticity_source"].startswith("assumed")
