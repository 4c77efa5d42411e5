"""The dashboard in a real browser: the vendored Chart.js draws every chart on the page.

Screenshots are kept in ``var/test-artifacts/`` (``TEST_ARTIFACTS_DIR``) for a person to look at.
"""

from __future__ import annotations

import pytest

from recommendations.models import Event, EventKind

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

#: Pixels of a canvas that are not transparent: 0 means nothing was drawn.
DRAWN_PIXELS = """
const canvas = document.querySelector(arguments[0]);
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let painted = 0;
for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { painted++; } }
return painted;
"""


def test_the_dashboard_charts_are_drawn(staff_browser, live_server):
    from selenium.webdriver.support.ui import WebDriverWait

    Event.objects.bulk_create(
        [Event(visitor_id=f"v{i}", item_id=str(i % 3), kind=EventKind.VIEW) for i in range(12)]
    )
    staff_browser.get(f"{live_server.url}/admin/recommendations/event/dashboard/")
    assert "Recommendations dashboard" in staff_browser.title
    canvases = ["chart-hour", "chart-day", "chart-fallbacks"]
    WebDriverWait(staff_browser, 10).until(
        lambda d: all(
            d.execute_script(
                f"return document.querySelector('canvas[data-chart=\"{c}\"]').dataset.drawn"
            )
            == "true"
            for c in canvases
        )
    )
    for name in canvases:
        assert staff_browser.execute_script(DRAWN_PIXELS, f'canvas[data-chart="{name}"]') > 0, name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-dashboard.png"))
