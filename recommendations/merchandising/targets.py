"""A rule's target checked against the live catalogue, so that a typo is an error, not a rule
that shows as Live and changes nothing.

Rules store their target as text (the product model is the host's, see models/merchandising.py),
and ``apply_rules`` matches category and brand without regard to case. A name no product carries
would therefore save and silently match nothing: these functions name what was not found and
suggest the closest names the catalogue has (``difflib``), and return known names in the
catalogue's own spelling.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from recommendations.catalog import ItemInfo, get_catalog


def check_category(name: str) -> str:
    """``name`` as the catalogue spells it; ValidationError naming it when no category has it."""
    return _known("category", name, get_catalog().categories())


def check_brand(name: str) -> str:
    """``name`` as the catalogue spells it; ValidationError naming it when no brand has it."""
    return _known("brand", name, get_catalog().brands())


def check_item(item_id: str) -> ItemInfo:
    """The product ``item_id`` names; ValidationError naming it (with products whose name or key
    resembles it) when there is none."""
    catalog = get_catalog()
    found = catalog.describe([item_id])
    if item_id in found:
        return found[item_id]
    similar = catalog.search(item_id, limit=3)
    hint = "."
    if similar:
        hint = f"; did you mean {_either(_product(info) for info in similar)}?"
    raise ValidationError(f'No product with the item id "{item_id}"{hint}', code="unknown")


def suggestions(name: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """The known names closest to ``name``, ignoring case and ``&``/"and" spelling."""
    by_key: dict[str, str] = {}
    for value in known:
        by_key.setdefault(_key(value), value)
    close = difflib.get_close_matches(_key(name), list(by_key), n=limit, cutoff=0.6)
    return [by_key[key] for key in close]


def _known(kind: str, name: str, known: list[str]) -> str:
    wanted = name.strip()
    for value in known:
        if value.casefold() == wanted.casefold():
            return value
    close = suggestions(wanted, known)
    hint = f"; did you mean {_either(map(_quoted, close))}?" if close else "."
    if not known:
        hint = f"; the catalogue has no {kind} names."
    raise ValidationError(f'No {kind} "{wanted}"{hint}', code="unknown")


def _quoted(value: str) -> str:
    return f'"{value}"'


def _product(info: ItemInfo) -> str:
    return f"{_quoted(info.title)} ({info.item_id})"


def _key(value: str) -> str:
    return " ".join(value.casefold().replace("&", " and ").split())


def _either(values: Iterable[str]) -> str:
    listed = list(values)
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " or " + listed[-1]
