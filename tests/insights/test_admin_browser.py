"""The product forecast page in a real browser: the vendored Chart.js draws history, forecast
and interval. A screenshot is kept in ``var/test-artifacts/`` for a person to look at."""

from __future__ import annotations

import pytest

from recommendations.insights.nightly import compute_insights
from recommendations.models import EventKind
from tests.admin.conftest import ARTIFACTS, staff_browser  # noqa: F401  (the fixture)
from tests.admin.test_dashboard_browser import DRAWN_PIXELS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_forecast_chart_is_drawn(staff_browser, live_server, make_product, record, today):  # noqa: F811
    from selenium.webdriver.support.ui import WebDriverWait

    teapot = make_product("Teapot", stock=40)
    record(teapot, {d: 2 + (d % 7 == 0) * 4 for d in range(1, 91)})
    record(teapot, {d: 15 for d in range(1, 91)}, EventKind.VIEW)
    compute_insights(today)
    staff_browser.get(
        f"{live_server.url}/admin/recommendations/productinsight/product/?item={teapot.pk}"
    )
    assert "Forecast: Teapot" in staff_browser.title
    WebDriverWait(staff_browser, 10).until(
        lambda d: (
            d.execute_script(
                "return document.querySelector('canvas[data-chart=\"chart-product\"]').dataset.drawn"
            )
            == "true"
        )
    )
    assert staff_browser.execute_script(DRAWN_PIXELS, 'canvas[data-chart="chart-product"]') > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-product-forecast.png"))
    staff_browser.get(f"{live_server.url}/admin/recommendations/productinsight/overview/")
    assert "Stock and prices" in staff_browser.title
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-stock-and-prices.png"))
