"""A reviewer in a real browser: the queue's charts are drawn, a held order is dismissed from its
review page, and it leaves the open queue. Screenshots go to ``var/test-artifacts/``
(``TEST_ARTIFACTS_DIR``)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from recommendations.models import CheckoutAttempt, ReviewStatus, RiskAssessment, RiskLevel

from .conftest import ARTIFACTS
from .test_dashboard_browser import DRAWN_PIXELS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_held_order_is_dismissed_from_its_review_page(staff_browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    CheckoutAttempt.objects.create(
        created=timezone.now(), order_id="41", approved=True, email="ann@example.com"
    )
    held = RiskAssessment.objects.create(
        subject="order",
        key="41",
        score=90,
        level=RiskLevel.BLOCK,
        status=ReviewStatus.OPEN,
        reasons=[{"rule": "card_velocity", "points": 90, "detail": "4 cards in a day"}],
        scored_at=timezone.now(),
    )
    RiskAssessment.objects.create(
        subject="order",
        key="42",
        score=60,
        level=RiskLevel.REVIEW,
        status=ReviewStatus.OPEN,
        scored_at=timezone.now(),
    )
    wait = WebDriverWait(staff_browser, 10)
    queue = f"{live_server.url}/admin/recommendations/riskassessment/"

    staff_browser.get(f"{queue}?status__exact=open")
    canvases = ["chart-risk-flags", "chart-risk-decisions"]
    wait.until(
        lambda d: all(
            d.execute_script(
                f"return document.querySelector('canvas[data-chart=\"{c}\"]').dataset.drawn"
            )
            == "true"
            for c in canvases
        )
    )
    assert staff_browser.execute_script(DRAWN_PIXELS, 'canvas[data-chart="chart-risk-flags"]') > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-fraud-queue.png"))
    staff_browser.find_element(By.LINK_TEXT, "Order #41 · ann@example.com").click()

    wait.until(ec.presence_of_element_located((By.NAME, "reason")))
    assert "Many distinct cards from one person (+90 points)" in staff_browser.page_source
    staff_browser.find_element(By.CSS_SELECTOR, "button[value=dismiss]").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".errorlist")))
    assert "A decision needs a reason" in staff_browser.page_source
    Select(staff_browser.find_element(By.NAME, "reason")).select_by_value("legitimate")
    staff_browser.find_element(By.NAME, "note").send_keys("Known customer, new card.")
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-fraud-review.png"))
    staff_browser.find_element(By.CSS_SELECTOR, "button[value=dismiss]").click()

    wait.until(ec.url_to_be(f"{queue}?status__exact=open"))
    assert "Dismissed (Legitimate customer)" in staff_browser.page_source
    rows = [r.text for r in staff_browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")]
    assert len(rows) == 1 and "Order #42" in rows[0]
    held.refresh_from_db()
    assert held.status == ReviewStatus.DISMISSED and held.note == "Known customer, new card."
    assert held.reviewed_by is not None and held.reviewed_by.username == "merchandiser"
