"""A real browser runs the beacon: impressions and clicks on a slot reach the database with the token."""

from __future__ import annotations

import shutil
import tempfile
import time

import pytest

from recommendations.models import Event, EventKind
from recommendations.stores import get_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def start_chromium(*extra: str):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip(
            "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="recommendations-chromium-")
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,4000",
        f"--user-data-dir={profile}",
        *extra,
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver_path), options=options), profile


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium standing in for a person's browser: the storefront quarantines
    headless browsers as bots, so this one introduces itself as a desktop Chrome."""
    driver, profile = start_chromium(f"--user-agent={DESKTOP_CHROME}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def headless_browser():
    """Headless Chromium as it introduces itself (``HeadlessChrome``), as a scraper would run it."""
    driver, profile = start_chromium()
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for_events(drain, kind: EventKind, count: int, timeout: float = 15.0) -> list[Event]:
    deadline = time.monotonic() + timeout
    while True:
        drain()
        events = list(Event.objects.filter(kind=kind))
        if len(events) >= count or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_impressions_and_clicks_from_a_slot_are_stored_with_its_token(
    browser, live_server, catalogue, drain
):
    from selenium.webdriver.common.by import By

    kitchen = catalogue["Kitchen"]
    related = kitchen[1:4]
    get_store().put_many({f"item:{kitchen[0].pk}:similar": [(str(p.pk), 1.0) for p in related]})

    browser.get(f"{live_server.url}/products/{kitchen[0].pk}/")
    slot = browser.find_element(By.CSS_SELECTOR, '[data-rec-item][data-rec-slot="similar"]')
    token = slot.get_attribute("data-rec-token")
    assert token.startswith("similar.")

    impressions = wait_for_events(drain, EventKind.IMPRESSION, 3)
    seen_in_slot = {e.item_id for e in impressions if e.context.get("token") == token}
    assert seen_in_slot >= {str(p.pk) for p in related}
    assert all(e.context["slot"] in {"similar", "bought-together"} for e in impressions)

    clicked = slot.get_attribute("data-rec-item")
    slot.find_element(By.TAG_NAME, "a").click()
    clicks = wait_for_events(drain, EventKind.CLICK, 1)
    assert [(c.item_id, c.context["token"], c.context["slot"]) for c in clicks] == [
        (clicked, token, "similar")
    ]
    view = wait_for_events(drain, EventKind.VIEW, 2)
    assert clicked in {e.item_id for e in view}  # the page it led to was tracked too
    assert len({e.visitor_id for e in Event.objects.all()}) == 1


def test_a_headless_browser_is_counted_in_the_quarantine_and_stores_nothing(
    browser, headless_browser, live_server, catalogue, drain
):
    from recommendations.models import QuarantineCount

    browser.get("about:blank")  # the other test's page sends no more beacons
    drain()
    Event.objects.all().delete()
    product = catalogue["Kitchen"][0]
    headless_browser.get(f"{live_server.url}/products/{product.pk}/")
    assert str(product.pk) in headless_browser.page_source

    deadline = time.monotonic() + 10
    while not QuarantineCount.objects.filter(kind=EventKind.VIEW).exists():
        assert time.monotonic() < deadline, "the headless view was not counted"
        time.sleep(0.2)
    drain()
    assert not Event.objects.exists()
    counted = QuarantineCount.objects.get(kind=EventKind.VIEW)
    assert (counted.reason, counted.count) == ("headless", 1)
