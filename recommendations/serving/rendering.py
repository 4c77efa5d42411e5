"""Server-side rendering of a slot, shared by the template tag and anything else that embeds HTML.

Lists on one page do not repeat each other: every slot rendered for a request remembers its items
on the request (:func:`mark_on_page`), and later slots of the same request exclude them. A store's
own product grids join in with ``{% recommendations_shown products %}``.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Iterable

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import select_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from recommendations import caches, redis_client
from recommendations.conf import app_settings
from recommendations.experiments.live import running_experiment
from recommendations.types import Slot

from .audience import audience_for
from .pipeline import MAX_EXCLUDE, UnknownItem, recommend

logger = logging.getLogger("recommendations.serving")

_PERSONAL = {Slot.FOR_YOU, Slot.RECENTLY_VIEWED, Slot.BUY_AGAIN}
_ON_PAGE = "_recommendations_on_page"
# Shared fragments are cached for every visitor, but a CSRF token is one visitor's: the fragment
# is rendered with this marker in its place and each request gets its own token put in.
_CSRF_MARKER = "recommendations-csrf-token-placeholder"
_CSRF_TOKEN = "_recommendations_csrf_token"


def items_on_page(request: HttpRequest) -> list[str]:
    """The item ids already shown on the page this request renders, in the order shown."""
    shown = getattr(request, _ON_PAGE, None)
    if shown is None:
        shown = []
        setattr(request, _ON_PAGE, shown)
    return shown


def mark_on_page(request: HttpRequest, item_ids: Iterable[str]) -> None:
    """Remember items as shown on this page, so that later slots leave them out."""
    shown = items_on_page(request)
    known = set(shown)
    for item_id in item_ids:
        if item_id not in known:
            shown.append(item_id)
            known.add(item_id)


def render_slot(
    request: HttpRequest,
    slot: str,
    *,
    item_id: str | None = None,
    limit: int | None = None,
    title: str = "",
    fallback_title: str | None = None,
    exclude_shown: bool = True,
) -> SafeString:
    """The slot's HTML, or "" when there is nothing truthful to show.

    When no item comes from what the slot is about (a product nobody has bought with anything
    yet gets only trending items), ``title`` would mislead: ``fallback_title`` is shown instead,
    ``""`` hides the slot, and ``None`` (the default) says "Popular right now". With
    ``exclude_shown`` the items other slots (or ``recommendations_shown``) put on this page are
    left out, the most recent :data:`MAX_EXCLUDE` of them.
    """
    try:
        slot_value = Slot(slot)
    except ValueError:
        raise ValueError(f"unknown recommendations slot {slot!r}") from None
    excluded = items_on_page(request)[-MAX_EXCLUDE:] if exclude_shown else []
    audience = audience_for(request)
    shared = (
        slot_value not in _PERSONAL
        and audience.user_id is None
        and not audience.cart_item_ids
        and not _in_experiment(slot_value)  # each visitor's variant is their own
    )
    cache_key = (
        _cache_key(slot_value, item_id, limit, title, fallback_title, request.path, excluded)
        if shared
        else None
    )
    cache = redis_client.shared_cache() or _fallback_fragments()
    cached = cache.get(cache_key) if cache_key is not None and cache is not None else None
    if isinstance(cached, tuple) and len(cached) == 2:
        html, shown = cached
        mark_on_page(request, shown)
        return _with_csrf(html, request)
    try:
        result = recommend(slot_value, audience, item_id=item_id, limit=limit, exclude=excluded)
    except UnknownItem:
        logger.warning("Slot %s asked for unknown item %r", slot_value, item_id)
        return SafeString("")
    heading = title
    if result.fallback_only:
        heading = _("Popular right now") if fallback_title is None else fallback_title
    if result.fallback_only and not heading:
        html, shown = "", []
    else:
        html = select_template(
            [f"recommendations/slots/{slot_value.value}.html", "recommendations/slot.html"]
        ).render(
            {
                "recommendations": result,
                "slot": slot_value.value,
                "title": heading,
                "csrf_token": _CSRF_MARKER,
            },
            request,
        )
        shown = [r.item.item_id for r in result.items]
    mark_on_page(request, shown)
    if cache_key is not None:
        # Asked again: the list may just have found Redis away. A degraded list is kept only by
        # the process, for the outage: the shared cache would serve it after the outage ends.
        shared_cache = redis_client.shared_cache()
        if shared_cache is not None and not result.degraded:
            shared_cache.set(cache_key, (html, shown), _fragment_seconds())
        elif shared_cache is None and (local := _fallback_fragments()) is not None:
            local.set(cache_key, (html, shown), _fragment_seconds())
    return _with_csrf(html, request)


def _fragment_seconds() -> float:
    """How long one fragment is kept: a random 75 to 100 % of ``TEMPLATE_CACHE_SECONDS``. The
    fragments of a page, and of every page a crawl or a deploy's first minute renders, are
    written within moments of each other; with one expiry they would all be rendered again in
    the same second, and every request of that second would pay for it."""
    return app_settings.TEMPLATE_CACHE_SECONDS * random.uniform(0.75, 1.0)


def _in_experiment(slot: Slot) -> bool:
    try:
        return running_experiment(slot.value) is not None
    except Exception:  # unknown: do not share the fragment
        return True


class FallbackFragments:
    """Shared fragments kept in the process while the shared cache's Redis is away, so that a
    product page does not compute its lists again for every visitor during an outage. Bounded;
    emptied when rules, the catalogue or the models change in this process."""

    MAX_ENTRIES = 2000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str) -> object | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def set(self, key: str, value: object, timeout: float) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + timeout, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


fallback_fragments = FallbackFragments()
caches.register(
    "fallback fragments",
    fallback_fragments.clear,
    caches.Change.RULES,
    caches.Change.CATALOGUE,
    caches.Change.MODELS,
    caches.Change.EXPERIMENTS,
)


def _fallback_fragments() -> FallbackFragments | None:
    """The process's fragments, in services mode while the shared cache is out of reach."""
    return fallback_fragments if app_settings.services_mode else None


def _with_csrf(html: str, request: HttpRequest) -> SafeString:
    if _CSRF_MARKER in html:
        # One masked token per request for all of its slots: masking one costs more than the
        # replacement, and any masked form of the visitor's secret is valid.
        token = getattr(request, _CSRF_TOKEN, None)
        if token is None:
            token = get_token(request)
            setattr(request, _CSRF_TOKEN, token)
        html = html.replace(_CSRF_MARKER, token)
    return mark_safe(html)


def _cache_key(
    slot: Slot,
    item_id: str | None,
    limit: int | None,
    title: str,
    fallback_title: str | None,
    path: str,
    excluded: list[str],
) -> str:
    excluded_part = ",".join(sorted(excluded))
    digest = hashlib.blake2s(
        f"{slot}|{item_id}|{limit}|{title}|{fallback_title}|{path}|{excluded_part}".encode(),
        digest_size=12,
    ).hexdigest()
    return f"recommendations:slot:{digest}"
