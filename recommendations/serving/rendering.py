"""Server-side rendering of a slot, shared by the template tag and anything else that embeds HTML."""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import caches
from django.http import HttpRequest
from django.template.loader import select_template
from django.utils.safestring import SafeString, mark_safe

from recommendations.conf import app_settings

from .audience import audience_for
from .pipeline import UnknownItem, recommend
from .types import Slot

logger = logging.getLogger("recommendations.serving")

_PERSONAL = {Slot.FOR_YOU, Slot.RECENTLY_VIEWED, Slot.BUY_AGAIN}


def render_slot(
    request: HttpRequest,
    slot: str,
    *,
    item_id: str | None = None,
    limit: int | None = None,
    title: str = "",
) -> SafeString:
    try:
        slot_value = Slot(slot)
    except ValueError:
        raise ValueError(f"unknown recommendations slot {slot!r}") from None
    audience = audience_for(request)
    shared = slot_value not in _PERSONAL and audience.user_id is None and not audience.cart_item_ids
    cache_key = _cache_key(slot_value, item_id, limit, title) if shared else None
    cache = caches["default"]
    if cache_key is not None and (html := cache.get(cache_key)) is not None:
        return mark_safe(html)
    try:
        result = recommend(slot_value, audience, item_id=item_id, limit=limit)
    except UnknownItem:
        logger.warning("Slot %s asked for unknown item %r", slot_value, item_id)
        return SafeString("")
    html = select_template(
        [f"recommendations/slots/{slot_value.value}.html", "recommendations/slot.html"]
    ).render({"recommendations": result, "slot": slot_value.value, "title": title}, request)
    if cache_key is not None:
        cache.set(cache_key, html, app_settings.TEMPLATE_CACHE_SECONDS)
    return mark_safe(html)


def _cache_key(slot: Slot, item_id: str | None, limit: int | None, title: str) -> str:
    digest = hashlib.blake2s(
        f"{slot}|{item_id}|{limit}|{title}".encode(), digest_size=12
    ).hexdigest()
    return f"recommendations:slot:{digest}"
