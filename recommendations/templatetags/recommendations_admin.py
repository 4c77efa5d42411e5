"""Filters for the app's admin pages: rates as percentages, amounts in the store's currency,
items by name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from recommendations.conf import app_settings

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """``0.0834`` → ``8.3%``."""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}%"


@register.filter
def money(amount: Decimal | float | None) -> str:
    """``1234.5`` → ``1,234.50 GBP`` with ``CURRENCY = "GBP"``."""
    if amount is None:
        return "—"
    text = f"{Decimal(str(amount)):,.2f}"
    return f"{text} {app_settings.CURRENCY}" if app_settings.CURRENCY else text


@register.filter
def item_name(item_id: str, names: dict[str, Any] | None) -> str:
    """The product's title with its id, or the id alone for a product that no longer exists."""
    info = (names or {}).get(item_id)
    title = getattr(info, "title", "") if info is not None else ""
    return f"{title} ({item_id})" if title else str(item_id)


@register.filter
def rule_name(rule_id: int | None, names: dict[int, str] | None) -> str:
    """The rule's name and sentence, or ``rule #<id> (deleted)``."""
    if rule_id is None:
        return "—"
    return (names or {}).get(rule_id) or f"rule #{rule_id} (deleted)"
