"""Reasons as a shopper reads them.

A list's reasons repeat across requests (the same few items are viewed, the same categories
trend), and translating one costs more than the rest of a reason's work: each text is kept per
kind, what it names and language. The catalogue's titles are part of the key, so a renamed
product reads under its new name at once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from django.utils import translation
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _

from recommendations import caches
from recommendations.catalog import ItemInfo
from recommendations.types import Reason, ReasonKind

#: Reasons whose ``about`` is an item id (its title is shown).
ITEM_REASONS = {
    ReasonKind.BECAUSE_VIEWED,
    ReasonKind.BOUGHT_TOGETHER,
    ReasonKind.SIMILAR,
    ReasonKind.SIMILAR_CONTENT,
}


def reason_text(reason: Reason, items: Mapping[str, ItemInfo], language: str | None = None) -> str:
    """``reason`` as the shopper reads it, in ``language`` (default: the active language; a
    caller with many reasons reads it once)."""
    about = reason.about
    if reason.kind in ITEM_REASONS:
        about = items[about].title if about in items else ""
    return _translated(reason.kind, about, language or get_language())


@functools.lru_cache(maxsize=4096)
def _translated(kind: ReasonKind, about: str, language: str | None) -> str:
    """The text of a reason of ``kind`` about ``about`` (an item's title or a category name) in
    ``language`` (``None``: untranslated)."""
    with translation.override(language):
        return _text(kind, about)


def _text(kind: ReasonKind, about: str) -> str:
    if kind in ITEM_REASONS:
        title = about
        if kind is ReasonKind.BECAUSE_VIEWED:
            return (
                _("Because you viewed %(title)s") % {"title": title}
                if title
                else _("Because you viewed this")
            )
        if kind is ReasonKind.BOUGHT_TOGETHER:
            return (
                _("Bought together with %(title)s") % {"title": title}
                if title
                else _("Bought together")
            )
        if kind is ReasonKind.SIMILAR_CONTENT:
            return (
                _("Similar in name, description or category to %(title)s") % {"title": title}
                if title
                else _("Similar in name, description or category")
            )
        return _("Similar to %(title)s") % {"title": title} if title else _("Similar")
    if kind is ReasonKind.TRENDING:
        return _("Trending in %(category)s") % {"category": about} if about else _("Trending now")
    return _(_PLAIN[kind])


#: Reasons that name nothing (marked for translation here, translated in ``reason_text``).
_PLAIN = {
    ReasonKind.PERSONALISED: gettext_noop("Picked for you"),
    ReasonKind.POPULAR: gettext_noop("Popular"),
    ReasonKind.PINNED: gettext_noop("Featured"),
    ReasonKind.RECENTLY_VIEWED: gettext_noop("You viewed this recently"),
    ReasonKind.BUY_AGAIN: gettext_noop("Buy it again"),
}

caches.register("reason texts", _translated.cache_clear)
