"""Default answers of the catalogue adapter's policy hooks: consent, automated user agents and
flagged visitors.

They live below the adapter (they read settings, headers and one model), so that
:class:`~recommendations.catalog.ModelCatalog` can answer with them and tracking can ask the
adapter, with no import running back up. Bursts of requests are tracking's own mechanism
(:mod:`recommendations.tracking.bots`), not a policy.
"""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect
from django.http import HttpRequest

from recommendations.conf import app_settings
from recommendations.models.quarantine import QuarantinedVisitor, QuarantineReason

#: Only this much of a user agent is examined, so a huge header cannot make matching slow.
USER_AGENT_MAX = 512

#: Automation that announces itself in the user agent or in the client-hint brands
#: (Chrome's headless mode sends ``"HeadlessChrome"`` as a ``Sec-CH-UA`` brand).
HEADLESS_MARKERS = (
    "headless",
    "phantomjs",
    "slimerjs",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "nightmare",
    "zombie.js",
)

_crawlers = CrawlerDetect()


def consent_allows(request: HttpRequest) -> bool:
    """``Sec-GPC: 1`` (Global Privacy Control) always means no; ``DNT: 1`` when
    ``RESPECT_DNT``; with ``CONSENT_REQUIRED`` nothing is tracked until the consent cookie holds
    ``granted``."""
    headers = request.headers
    if headers.get("Sec-GPC") == "1":
        return False
    if app_settings.RESPECT_DNT and headers.get("DNT") == "1":
        return False
    if app_settings.CONSENT_REQUIRED:
        return request.COOKIES.get(app_settings.CONSENT_COOKIE_NAME) == "granted"
    return True


def automated_reason(request: HttpRequest) -> str | None:
    """Why the request's user agent looks automated (a :class:`QuarantineReason` value), or
    None; always None with ``BOT_DETECTION`` off."""
    if not app_settings.BOT_DETECTION:
        return None
    headers = request.headers
    return agent_reason(
        headers.get("User-Agent", "")[:USER_AGENT_MAX],
        headers.get("Sec-CH-UA", "")[:USER_AGENT_MAX],
    )


@lru_cache(maxsize=4096)
def agent_reason(user_agent: str, client_hints: str = "") -> str | None:
    """``headless`` or ``crawler`` for an automated user agent, None for a browser (or none at
    all: API clients and tests often send no user agent, and refusing them would lose people)."""
    lowered = user_agent.lower()
    if any(marker in lowered for marker in HEADLESS_MARKERS) or (
        "headless" in client_hints.lower()
    ):
        return QuarantineReason.HEADLESS.value
    if lowered.strip() and _crawlers.is_crawler(user_agent):
        return QuarantineReason.CRAWLER.value
    return None


def flagged_user_keys() -> set[str]:
    """Training's user keys of visitors flagged for bursts: ``"v:<visitor>"``, and
    ``"<user id>"`` when one was signed in."""
    keys: set[str] = set()
    for visitor_id, user_id in QuarantinedVisitor.objects.values_list("visitor_id", "user_id"):
        keys.add(f"v:{visitor_id}")
        if user_id is not None:
            keys.add(str(user_id))
    return keys
