"""A merchandiser in a real browser: picks a product in the rule form's search box, pins it, and
finds it first on the storefront. Screenshots go to ``var/test-artifacts/`` (``TEST_ARTIFACTS_DIR``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recommendations.models import Rule
from tests.shop.factories import ProductFactory

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_pin_made_with_the_product_picker_shows_on_the_storefront(
    staff_browser, live_server, catalogue
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # The home page's own sections (new arrivals, bestsellers) take the newest products, and a
    # page shows an item once: pin the oldest one, behind enough newer ones.
    toy = catalogue["Toys"][0]
    toy.created = toy.created - timedelta(days=30)
    toy.save()
    ProductFactory.create_batch(20, category=toy.category)
    wait = WebDriverWait(staff_browser, 10)
    staff_browser.get(f"{live_server.url}/admin/recommendations/rule/add/")
    staff_browser.find_element(By.NAME, "name").send_keys("Toy of the week")
    Select(staff_browser.find_element(By.NAME, "action")).select_by_value("pin")
    staff_browser.find_element(By.CSS_SELECTOR, ".field-item_id .select2-selection").click()
    search = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".select2-search__field"))
    )
    search.send_keys("TOY-0")  # the SKU
    option = wait.until(
        ec.element_to_be_clickable(
            (
                By.XPATH,
                "//li[contains(@class, 'select2-results__option') and contains(., 'Toys thing 0')]",
            )
        )
    )
    option.click()
    staff_browser.find_element(By.NAME, "position").send_keys("1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert staff_browser.save_screenshot(str(ARTIFACTS / "admin-rule-product-picker.png"))
    staff_browser.find_element(By.NAME, "_save").click()
    wait.until(ec.url_to_be(f"{live_server.url}/admin/recommendations/rule/"))
    assert "Toys thing 0" in staff_browser.page_source  # the list names the product
    rule = Rule.objects.get()
    assert (rule.item_id, rule.position, rule.slot) == (str(toy.pk), 1, "")

    # Pinned in every slot: first in the page's first list; the later lists leave it out, as a
    # page shows an item once.
    staff_browser.get(f"{live_server.url}/")
    first = staff_browser.find_element(By.CSS_SELECTOR, "[data-rec-item]")
    assert first.get_attribute("data-rec-item") == str(toy.pk)
    shown = staff_browser.find_elements(By.CSS_SELECTOR, f'[data-rec-item="{toy.pk}"]')
    assert len(shown) == 1
    assert staff_browser.save_screenshot(str(ARTIFACTS / "storefront-pinned.png"))
