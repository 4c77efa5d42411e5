"""Preview as customer in a real browser: search for the person, open their preview, and see the
pinned item first with the rule that put it there."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_merchandiser_previews_a_customer(
    staff_browser, live_server, shopper, catalogue, ann_has_history
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as loaded
    from selenium.webdriver.support.ui import WebDriverWait

    staff_browser.get(f"{live_server.url}/admin/recommendations/rule/preview/")
    search = staff_browser.find_element(By.NAME, "q")
    search.send_keys("ann@example.com")
    staff_browser.find_element(By.CSS_SELECTOR, '#preview-form input[type="submit"]').click()
    wait = WebDriverWait(staff_browser, 10)
    # One match may open the preview at once; several are listed to pick from.
    found = wait.until(
        loaded.any_of(
            loaded.presence_of_element_located((By.CSS_SELECTOR, "#people a")),
            loaded.presence_of_element_located((By.ID, "previewed")),
        )
    )
    if found.tag_name == "a":
        found.click()
    heading = wait.until(loaded.presence_of_element_located((By.ID, "previewed"))).text
    assert "ann" in heading
    page = staff_browser.find_element(By.ID, "content").text
    teapot = catalogue["Kitchen & Dining"][3].title
    assert teapot in page and "Push the teapot" in page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-preview-as-customer.png"))
