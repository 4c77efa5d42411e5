"""Filters for the app's admin pages: rates as percentages, amounts in the store's currency,
items by name; and the fraud badge that tells staff what waits in the review queue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from recommendations.conf import app_settings
from recommendations.fraud.review import open_counts
from recommendations.models import ReviewStatus

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


@register.inclusion_tag("admin/recommendations/riskassessment/_badge.html", takes_context=True)
def fraud_badge(context: dict[str, Any]) -> dict[str, Any]:
    """Held orders and open reviews, linking to the queue, for staff who may see the queue."""
    # Imported here, not at the top: every template engine loads this library at start-up,
    # and a project without django.contrib.admin must still be able to render its pages.
    from recommendations.admin.fraud import held_url, queue_url

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("recommendations.view_riskassessment"):
        return {"counts": None}
    return {
        "counts": open_counts(),
        "held_url": held_url(),
        "open_url": queue_url(status=ReviewStatus.OPEN),
    }
