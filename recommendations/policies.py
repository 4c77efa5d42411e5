"""Default answers of the catalogue adapter's policy hooks: consent, automated user agents,
flagged visitors and confirmed fraud.

They live below the adapter (they read settings, headers and one model), so that
:class:`~recommendations.catalog.ModelCatalog` can answer with them and tracking can ask the
adapter, with no import running back up. Bursts of requests are tracking's own mechanism
(:mod:`recommendations.tracking.bots`), not a policy.
"""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect
from django.db.models import Q
from django.http import HttpRequest

from recommendations.conf import app_settings
from recommendations.models import (
    CheckoutAttempt,
    DecisionReason,
    Event,
    EventKind,
    ReviewStatus,
    RiskAssessment,
    RiskSubject,
    VisitorLink,
)
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
    """Training's user keys whose behaviour must not train: visitors flagged for bursts, and
    people staff confirmed as fraud or bots (:func:`confirmed_user_keys`). ``"v:<visitor>"``,
    and ``"<user id>"`` when one was signed in, plus every browser linked to such a user
    (:func:`linked_visitor_keys`)."""
    keys: set[str] = set()
    for visitor_id, user_id in QuarantinedVisitor.objects.values_list("visitor_id", "user_id"):
        keys.add(f"v:{visitor_id}")
        if user_id is not None:
            keys.add(str(user_id))
    keys |= confirmed_user_keys()
    return keys | linked_visitor_keys(keys)


def linked_visitor_keys(keys: set[str]) -> set[str]:
    """``"v:<visitor>"`` of every visitor linked to a user in ``keys`` (:class:`VisitorLink`).

    A link makes the browser's anonymous events the user's, but whether a stored row says so
    depends on timing: events still queued when the link is written are attributed at ingest,
    while rows stored before it keep ``user_id`` empty unless login's update reaches them (it
    may not: a row that lands between the two, an update that fails after the link was saved).
    Leaving out the linked visitors too means a left-out person's signed-out browsing counts
    nowhere (training, trending, popular), however their rows were attributed: the same in
    services and embedded mode. A visitor key only matches events with no user, so the
    browser's later sign-ins as somebody else are not affected."""
    users = sorted(int(key) for key in keys if key.isdigit())
    linked: set[str] = set()
    for start in range(0, len(users), 500):
        linked.update(
            f"v:{visitor_id}"
            for visitor_id in VisitorLink.objects.filter(
                user_id__in=users[start : start + 500]
            ).values_list("visitor_id", flat=True)
        )
    return linked


def confirmed_user_keys() -> set[str]:
    """People behind assessments staff confirmed: a confirmed visitor (a bot, a fake account),
    and whoever placed a confirmed order (the account and the browser), except for a stolen
    card or account, whose holder is a victim: then only the order is left out."""
    keys: set[str] = set()
    confirmed = RiskAssessment.objects.filter(status=ReviewStatus.CONFIRMED)
    people = confirmed.filter(subject=RiskSubject.VISITOR).values_list(
        "key", "user_id", "visitor_id"
    )
    orders = (
        confirmed.filter(subject=RiskSubject.ORDER)
        .exclude(decision_reason=DecisionReason.STOLEN_CARD)
        .values_list("user_id", "visitor_id")
    )
    for key, user_id, visitor_id in people:
        keys.add(key)
        keys |= _person_keys(user_id, visitor_id)
    for user_id, visitor_id in orders:
        keys |= _person_keys(user_id, visitor_id)
    return keys


def _person_keys(user_id: int | None, visitor_id: str) -> set[str]:
    keys = {f"v:{visitor_id}"} if visitor_id else set()
    return keys | ({str(user_id)} if user_id is not None else set())


def excluded_order_ids() -> set[str]:
    """Order ids (as text) whose purchases must not train: orders staff confirmed as fraud,
    and every order of the people confirmed (:func:`confirmed_user_keys`) and of the browsers
    linked to them (:func:`linked_visitor_keys`), so that fake accounts' baskets do not make
    bought-together pairs (baskets carry no user)."""
    orders = set(
        RiskAssessment.objects.filter(
            subject=RiskSubject.ORDER, status=ReviewStatus.CONFIRMED
        ).values_list("key", flat=True)
    )
    people = confirmed_user_keys()
    people |= linked_visitor_keys(people)  # their browsers' guest orders too
    users = sorted(int(key) for key in people if key.isdigit())
    visitors = sorted(key[2:] for key in people if key.startswith("v:"))
    for start in range(0, max(len(users), len(visitors)), 500):
        some_users, some_visitors = users[start : start + 500], visitors[start : start + 500]
        attempts = CheckoutAttempt.objects.filter(approved=True).exclude(order_id="")
        orders |= set(
            attempts.filter(
                Q(user_id__in=some_users) | Q(visitor_id__in=some_visitors)
            ).values_list("order_id", flat=True)
        )
        lines = Event.objects.filter(kind=EventKind.PURCHASE).filter(
            Q(user_id__in=some_users) | Q(visitor_id__in=some_visitors, user__isnull=True)
        )
        orders |= {str(order) for order in lines.values_list("context__order", flat=True) if order}
    return orders
