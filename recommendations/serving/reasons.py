"""Reasons as a shopper reads them."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from recommendations.catalog import ItemInfo
from recommendations.types import Reason, ReasonKind

#: Reasons whose ``about`` is an item id (its title is shown).
ITEM_REASONS = {
    ReasonKind.BECAUSE_VIEWED,
    ReasonKind.BOUGHT_TOGETHER,
    ReasonKind.SIMILAR,
    ReasonKind.SIMILAR_CONTENT,
}


def reason_text(reason: Reason, items: Mapping[str, ItemInfo]) -> str:
    about = reason.about
    if reason.kind in ITEM_REASONS:
        title = items[about].title if about in items else ""
        if reason.kind is ReasonKind.BECAUSE_VIEWED:
            return (
                _("Because you viewed %(title)s") % {"title": title}
                if title
                else _("Because you viewed this")
            )
        if reason.kind is ReasonKind.BOUGHT_TOGETHER:
            return (
                _("Bought together with %(title)s") % {"title": title}
                if title
                else _("Bought together")
            )
        if reason.kind is ReasonKind.SIMILAR_CONTENT:
            return (
                _("Similar in name, description or category to %(title)s") % {"title": title}
                if title
                else _("Similar in name, description or category")
            )
        return _("Similar to %(title)s") % {"title": title} if title else _("Similar")
    if reason.kind is ReasonKind.TRENDING:
        return _("Trending in %(category)s") % {"category": about} if about else _("Trending now")
    return _(_PLAIN[reason.kind])  # translated per call: the language is the request's


#: Reasons that name nothing (marked for translation here, translated in ``reason_text``).
_PLAIN = {
    ReasonKind.PERSONALISED: gettext_noop("Picked for you"),
    ReasonKind.POPULAR: gettext_noop("Popular"),
    ReasonKind.PINNED: gettext_noop("Featured"),
    ReasonKind.RECENTLY_VIEWED: gettext_noop("You viewed this recently"),
    ReasonKind.BUY_AGAIN: gettext_noop("Buy it again"),
}
