"""Bot quarantine: crawlers, headless browsers and bursting visitors leave counts, not events.

Both capture paths are covered (the middleware's product views and the beacon), in both modes:
in services mode the burst counter lives in Redis and stored events travel through the stream.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from recommendations import redis_client, training
from recommendations.catalog import get_catalog
from recommendations.checks import check_settings
from recommendations.conf import app_settings
from recommendations.models import (
    Event,
    EventKind,
    QuarantineCount,
    QuarantinedVisitor,
    QuarantineReason,
)
from recommendations.policies import agent_reason
from recommendations.tracking import bots
from recommendations.tracking.bots import Burst, count_request
from recommendations.tracking.quarantine import add_counts
from shop.catalog import ShopCatalog
from tests.processes import free_port

from .conftest import event, post_events, product_url

pytestmark = pytest.mark.django_db(transaction=True)

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"
LIMIT = app_settings.BOT_BURST_LIMIT  # the project's, as the burst counter reads it


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    bots.local_counter.clear()
    yield
    bots.local_counter.clear()


@pytest.fixture
def one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request falls into the same burst window, however slow the machine is."""
    frozen = (time.time() // 3600) * 3600 + 0.5
    monkeypatch.setattr(
        bots, "time", SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    )


def quarantine() -> dict[tuple[str, str], int]:
    """Quarantined events as {(reason, kind name): count}, summed over days."""
    counts: dict[tuple[str, str], int] = {}
    for reason, kind, n in QuarantineCount.objects.values_list("reason", "kind", "count"):
        key = (reason, EventKind(kind).label)
        counts[key] = counts.get(key, 0) + n
    return counts


# --- Crawlers and headless browsers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "reason"),
    [(GOOGLEBOT, "crawler"), (HEADLESS, "headless")],
    ids=["googlebot", "headless"],
)
def test_bot_page_views_are_counted_not_stored(products, drain, agent, reason):
    client = Client(HTTP_USER_AGENT=agent)
    for product in products[:3]:
        assert client.get(product_url(product)).status_code == 200
    client.post(reverse("shop:cart_add", kwargs={"pk": products[0].pk}), {"quantity": 1})
    drain()
    assert not Event.objects.exists()
    assert quarantine() == {(reason, "view"): 3, (reason, "add_to_cart"): 1}


@pytest.mark.parametrize(
    ("agent", "reason"),
    [(GOOGLEBOT, "crawler"), (HEADLESS, "headless")],
    ids=["googlebot", "headless"],
)
def test_bot_beacons_are_counted_not_stored(products, drain, agent, reason):
    client = Client(HTTP_USER_AGENT=agent)
    item = str(products[0].pk)
    response = post_events(client, [event("impression", item), event("impression", item)])
    assert response.status_code == 202
    assert response.json() == {"accepted": 0, "tracking": "quarantined"}
    post_events(client, [event("click", item)])
    drain()
    assert not Event.objects.exists()
    assert quarantine() == {(reason, "impression"): 2, (reason, "click"): 1}


def test_headless_chrome_is_recognised_by_its_client_hints(products, drain):
    client = Client(
        HTTP_USER_AGENT=CHROME, HTTP_SEC_CH_UA='"HeadlessChrome";v="124", "Chromium";v="124"'
    )
    assert client.get(product_url(products[0])).status_code == 200
    drain()
    assert not Event.objects.exists()
    assert quarantine() == {("headless", "view"): 1}


@pytest.mark.parametrize("agent", [CHROME, FIREFOX, ""], ids=["chrome", "firefox", "no-agent"])
def test_ordinary_browsers_are_stored_on_both_paths(products, drain, agent):
    client = Client(HTTP_USER_AGENT=agent)
    for product in products[:3]:
        assert client.get(product_url(product)).status_code == 200
    assert post_events(client, [event("click", str(products[1].pk))]).json() == {"accepted": 1}
    drain()
    assert Event.objects.filter(kind=EventKind.VIEW).count() == 3
    assert Event.objects.filter(kind=EventKind.CLICK).count() == 1
    assert not QuarantineCount.objects.exists()


def test_agent_classification():
    assert agent_reason(GOOGLEBOT) == "crawler"
    assert agent_reason("Mozilla/5.0 (compatible; bingbot/2.0)") == "crawler"
    assert agent_reason(HEADLESS) == "headless"
    assert agent_reason("Mozilla/5.0 PhantomJS/2.1.1 Safari/538.1") == "headless"
    assert agent_reason(CHROME) is None
    assert agent_reason(FIREFOX) is None
    assert agent_reason("") is None


def test_detection_can_be_switched_off(settings, products, drain):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BOT_DETECTION": False}
    Client(HTTP_USER_AGENT=GOOGLEBOT).get(product_url(products[0]))
    drain()
    assert Event.objects.count() == 1


# --- Bursts --------------------------------------------------------------------------------------


def test_fifty_views_within_a_second_are_quarantined_and_the_visitor_leaves_training(
    products, drain, one_second
):
    client = Client(HTTP_USER_AGENT=CHROME)
    for i in range(50):
        assert client.get(product_url(products[i % len(products)])).status_code == 200
    drain()
    # Nothing past the limit is stored; what came before it is left out of training.
    assert Event.objects.count() == LIMIT
    assert quarantine() == {("burst", "view"): 50 - LIMIT}
    (visitor,) = set(Event.objects.values_list("visitor_id", flat=True))
    flag = QuarantinedVisitor.objects.get()
    assert (flag.visitor_id, flag.reason, flag.user) == (visitor, "burst", None)
    assert f"v:{visitor}" in training.excluded_users()
    if django_settings.SERVICES_MODE:  # counted in Redis, not in this process
        assert redis_client.get_redis().exists(app_settings.key("burst", "flagged", visitor))
        assert not bots.local_counter._counts

    other = Client(HTTP_USER_AGENT=CHROME)
    assert other.get(product_url(products[0])).status_code == 200
    drain()
    assert Event.objects.count() == LIMIT + 1


def test_a_bursting_beacon_is_quarantined(products, drain, one_second):
    client = Client(HTTP_USER_AGENT=FIREFOX)
    answers = [post_events(client, [event("click", str(products[0].pk))]).json() for _ in range(50)]
    drain()
    assert answers[:LIMIT] == [{"accepted": 1}] * LIMIT
    assert answers[LIMIT:] == [{"accepted": 0, "tracking": "quarantined"}] * (50 - LIMIT)
    assert Event.objects.count() == LIMIT
    assert quarantine() == {("burst", "click"): 50 - LIMIT}
    assert QuarantinedVisitor.objects.count() == 1


def test_a_signed_in_burst_flags_the_user_for_training(products, drain, one_second):
    user = get_user_model().objects.create_user("scraper", password="a-long-password-1")
    client = Client(HTTP_USER_AGENT=CHROME)
    client.force_login(user)
    for _ in range(LIMIT + 1):
        client.get(product_url(products[0]))
    drain()
    assert QuarantinedVisitor.objects.get().user == user
    assert str(user.pk) in training.excluded_users()


def test_the_burst_limit_is_per_window_and_cooldown(settings, one_second):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "BOT_BURST_LIMIT": 3,
        "BOT_BURST_COOLDOWN": 0,
    }
    outcomes = [count_request("a" * 32) for _ in range(5)]
    assert outcomes == [Burst.NONE] * 3 + [Burst.TRIPPED, Burst.ONGOING]
    assert count_request("b" * 32) is Burst.NONE  # per visitor


def test_no_burst_limit(settings, one_second):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BOT_BURST_LIMIT": None}
    assert {count_request("a" * 32) for _ in range(100)} == {Burst.NONE}


def test_bursts_are_counted_in_process_while_redis_is_down(settings, products, drain, one_second):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "REDIS_TIMEOUT": 0.05,
    }
    client = Client(HTTP_USER_AGENT=CHROME)
    started = time.perf_counter()
    for _ in range(LIMIT + 5):
        assert client.get(product_url(products[0])).status_code == 200
    assert time.perf_counter() - started < 20
    assert not redis_client.available()
    assert Event.objects.count() == LIMIT  # written straight to the database
    assert quarantine() == {("burst", "view"): 5}


# --- The adapter ---------------------------------------------------------------------------------


class EveryoneIsABot(ShopCatalog):
    def is_bot(self, request: HttpRequest) -> bool:
        return True


class BrokenPolicy(ShopCatalog):
    def is_bot(self, request: HttpRequest) -> bool:
        raise RuntimeError("policy service down")


class NobodyConsents(ShopCatalog):
    def tracking_allowed(self, request: HttpRequest) -> bool:
        return False


def _adapter(settings, name: str) -> None:
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "CATALOG_ADAPTER": f"tests.tracking.test_bots.{name}",
    }


def test_the_adapter_decides_who_is_a_bot(settings, products, drain):
    _adapter(settings, "EveryoneIsABot")
    client = Client(HTTP_USER_AGENT=CHROME)
    client.get(product_url(products[0]))
    post_events(client, [event("click", str(products[0].pk))])
    drain()
    assert not Event.objects.exists()
    assert quarantine() == {("adapter", "view"): 1, ("adapter", "click"): 1}


def test_a_failing_adapter_never_fails_the_page(settings, products, drain):
    _adapter(settings, "BrokenPolicy")
    client = Client(HTTP_USER_AGENT=GOOGLEBOT)
    assert client.get(product_url(products[0])).status_code == 200
    assert post_events(client, [event("click", str(products[0].pk))]).status_code == 202
    drain()
    assert Event.objects.count() == 2


def test_the_middleware_and_the_beacon_ask_the_adapter_for_consent(settings, products, drain):
    _adapter(settings, "NobodyConsents")
    client = Client(HTTP_USER_AGENT=CHROME)
    response = client.get(product_url(products[0]))
    assert "recommendations_visitor" not in response.cookies
    answer = post_events(client, [event("click", str(products[0].pk))]).json()
    assert answer == {"accepted": 0, "tracking": "declined"}
    drain()
    assert not Event.objects.exists()


def test_default_adapter_policy_is_the_consent_logic(rf):
    catalog = get_catalog()
    assert catalog.tracking_allowed(rf.get("/"))
    assert not catalog.tracking_allowed(rf.get("/", HTTP_SEC_GPC="1"))
    assert catalog.is_bot(rf.get("/", HTTP_USER_AGENT=GOOGLEBOT))
    assert not catalog.is_bot(rf.get("/", HTTP_USER_AGENT=CHROME))


# --- Counts and admin ----------------------------------------------------------------------------


def test_counts_are_upserted(settings):
    from collections import Counter
    from datetime import date

    day = date(2026, 3, 1)
    add_counts(day, "crawler", Counter({int(EventKind.VIEW): 2, int(EventKind.CLICK): 1}))
    add_counts(day, "crawler", Counter({int(EventKind.VIEW): 3}))
    rows = QuarantineCount.objects.filter(day=day).values_list("kind", "count")
    assert dict(rows) == {int(EventKind.VIEW): 5, int(EventKind.CLICK): 1}


def test_admin_shows_counts_by_reason_per_day_with_charts(admin_client):
    from django.utils import timezone

    today = timezone.localdate()
    QuarantineCount.objects.create(day=today, reason="crawler", kind=EventKind.VIEW, count=7)
    QuarantineCount.objects.create(day=today, reason="crawler", kind=EventKind.CLICK, count=2)
    QuarantineCount.objects.create(day=today, reason="burst", kind=EventKind.VIEW, count=4)
    response = admin_client.get("/admin/recommendations/quarantinecount/")
    assert response.status_code == 200
    charts = {c["caption"]: c["chart"] for c in response.context["reason_charts"]}
    assert charts["Quarantined events: Crawler user agent"].bars[-1].value == 9
    assert charts["Quarantined events: Request burst"].bars[-1].value == 4
    content = response.content.decode()
    assert "<svg" in content and "Crawler user agent" in content and ">view<" in content
    assert admin_client.get("/admin/recommendations/quarantinecount/add/").status_code == 403


def test_admin_lists_flagged_visitors_by_user_name(admin_client):
    user = get_user_model().objects.create_user("scraper")
    QuarantinedVisitor.objects.create(visitor_id="f" * 32, user=user)
    response = admin_client.get("/admin/recommendations/quarantinedvisitor/")
    assert response.status_code == 200
    assert "scraper" in response.content.decode()
    assert QuarantineReason.BURST.label in response.content.decode()


def test_invalid_bot_settings_fail_the_settings_check(settings):
    """Formerly E020; the bot keys now have rules like every other key (E030/E031)."""
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "BOT_BURST_LIMIT": 0,
        "BOT_BURST_WINDOW": 0.5,
    }
    messages = check_settings()
    assert [m.id for m in messages] == ["recommendations.E031", "recommendations.E030"]
    assert all(isinstance(m, checks.Error) for m in messages)
    assert "BOT_BURST_LIMIT" in messages[0].msg and "BOT_BURST_WINDOW" in messages[1].msg
