"""The demo as a shopper sees it, in a real browser: the home page shows no product twice, and a
product's "Often bought together" block shows what the co-purchase model learnt from the seeded
baskets, each item saying what it is bought with."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from recommendations.models import ModelVersion
from recommendations.stores import get_store
from recommendations.training import train
from shop.models import Product
from shop.seeding import SeedOptions, seed_demo_store
from tests.serving.test_browser import DESKTOP_CHROME, start_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_store():
    """A small seeded store (baskets with real structure), trained as ``make demo`` trains it."""
    seed_demo_store(SeedOptions(products=80, customers=80, days=14, seed=5))
    result = train("full")
    assert result.status == "finished", result.message
    return result


@pytest.fixture
def browser():
    driver, profile = start_chromium(f"--user-agent={DESKTOP_CHROME}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def product_ids_on_page(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    links = browser.find_elements(By.CSS_SELECTOR, "a.product-card-link")
    return [link.get_attribute("href").rstrip("/").rsplit("/", 1)[-1] for link in links]


def test_the_co_purchase_model_wins_on_the_demos_own_baskets(demo_store):
    active = ModelVersion.objects.get(scenario="bought_together", status=ModelVersion.Status.ACTIVE)
    assert active.model != "popularity"


def test_home_page_shows_no_product_twice(demo_store, browser, live_server):
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/")
    shown = product_ids_on_page(browser)
    assert len(shown) >= 16  # bestsellers, new arrivals, trending
    assert [item for item, n in Counter(shown).items() if n > 1] == []
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "main h2")]
    # A new visitor has no history: no "Picked for you" block full of trending items.
    assert "Picked for you" not in headings and "Trending now" in headings


def test_bought_together_block_shows_co_purchases_with_their_reason(
    demo_store, browser, live_server
):
    from selenium.webdriver.common.by import By

    product, together = _product_with_bought_together_list()
    browser.get(f"{live_server.url}{product.get_absolute_url()}")
    block = browser.find_element(By.CSS_SELECTOR, 'section[aria-label="Often bought together"]')
    assert block.find_element(By.TAG_NAME, "h2").text == "Often bought together"
    cards = block.find_elements(By.CSS_SELECTOR, '[data-rec-slot="bought-together"]')
    assert cards
    learnt = [
        card.get_attribute("data-rec-item")
        for card in cards
        if card.get_attribute("data-rec-item") in together
    ]
    assert learnt, "no item of the co-purchase list is shown"
    reasons = {
        card.get_attribute("data-rec-item"): card.find_element(
            By.CSS_SELECTOR, ".recommendation-reason"
        ).text
        for card in cards
    }
    assert all(reasons[item] == f"Bought together with {product.title}" for item in learnt)
    assert cards[0].find_element(By.CSS_SELECTOR, "button").text == "Add to cart"
    assert [item for item, n in Counter(product_ids_on_page(browser)).items() if n > 1] == []


def _product_with_bought_together_list() -> tuple[Product, set[str]]:
    """A visible product whose stored bought-together list has sellable items."""
    products = list(Product.objects.active().filter(stock__gt=0).order_by("pk"))
    lists = get_store().get_many([f"item:{p.pk}:bought-together" for p in products])
    sellable = {str(p.pk) for p in products}
    best = max(
        products,
        key=lambda p: len({i for i, _ in lists.get(f"item:{p.pk}:bought-together", [])} & sellable),
    )
    together = {i for i, _ in lists.get(f"item:{best.pk}:bought-together", [])} & sellable
    assert together, "training wrote no bought-together list"
    return best, together
