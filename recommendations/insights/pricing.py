"""Price suggestions with their reason and evidence, and a merchandiser's decision on them.

Two situations suggest a change:

- **raise**: demand is rising (the forecast rate at least ``PRICE_RISING_DEMAND`` above the last
  28 days') and the stock will not last until a restock arrives. The price is raised until
  demand over the lead time would fit the stock, at the product's elasticity when one was
  estimated with confidence, else at an assumed elasticity of -1 (the evidence says which).
- **lower**: many views (``PRICE_MIN_VIEWS`` in 28 days) but purchases per view below
  ``PRICE_LOW_CONVERSION`` times its category's: the price is lowered towards the category's
  conversion, by the same elasticity.

Every suggestion is bounded: at most ``PRICE_MAX_CHANGE`` either way, never below the cost the
adapter reports, and none within ``PRICE_COOLDOWN_DAYS`` of the product's last price change.
Nothing is applied until a merchandiser accepts it in admin (:func:`accept`), and then only
through the adapter's ``set_price``; every suggestion and decision stays as a row, and
decisions are also admin ``LogEntry`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models import PriceSuggestion, StockStatus

CENT = Decimal("0.01")
#: The elasticity assumed when none was estimated with confidence: revenue-neutral.
ASSUMED_ELASTICITY = -1.0


@dataclass(frozen=True)
class Evidence:
    """What one product's suggestion is decided from."""

    price: Decimal
    cost: Decimal | None
    status: str
    stock: int | None
    days_left: float | None
    lead_days: int
    daily_rate: float
    recent_rate: float
    views: int
    orders: int
    category: str = ""
    category_conversion: float | None = None
    #: The estimated elasticity, only when its interval excludes zero.
    elasticity: float | None = None
    last_change: date | None = None


@dataclass(frozen=True)
class Proposal:
    direction: PriceSuggestion.Direction
    new_price: Decimal
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _elasticity(evidence: Evidence) -> tuple[float, str]:
    if evidence.elasticity is not None and evidence.elasticity < 0:
        return evidence.elasticity, "estimated"
    return ASSUMED_ELASTICITY, "assumed (none estimated with confidence)"


def _bounded(
    price: Decimal, ratio: float, cost: Decimal | None, max_change: float
) -> tuple[Decimal, list[str]]:
    """``price`` times ``ratio`` within ``max_change`` and not below ``cost``, in cents, with
    the bounds that applied."""
    applied = []
    if ratio > 1 + max_change:
        ratio, applied = 1 + max_change, [f"capped at +{max_change:.0%}"]
    elif ratio < 1 - max_change:
        ratio, applied = 1 - max_change, [f"capped at -{max_change:.0%}"]
    new = (price * Decimal(str(round(ratio, 6)))).quantize(CENT, rounding=ROUND_HALF_UP)
    if cost is not None and new < cost:
        new, applied = cost.quantize(CENT), [*applied, "floored at cost"]
    return new, applied


def propose(evidence: Evidence, today: date) -> Proposal | None:
    """The suggestion the evidence supports, or ``None`` (no reason, or a bound forbids it)."""
    cooldown = app_settings.PRICE_COOLDOWN_DAYS
    if evidence.last_change is not None and (today - evidence.last_change).days < cooldown:
        return None
    if evidence.price <= 0:
        return None
    max_change = float(app_settings.PRICE_MAX_CHANGE)
    elasticity, source = _elasticity(evidence)
    facts: dict[str, Any] = {
        "price": str(evidence.price),
        "cost": None if evidence.cost is None else str(evidence.cost),
        "stock": evidence.stock,
        "days_left": None if evidence.days_left is None else round(evidence.days_left, 1),
        "lead_days": evidence.lead_days,
        "forecast_per_day": round(evidence.daily_rate, 3),
        "last_28_days_per_day": round(evidence.recent_rate, 3),
        "views_28_days": evidence.views,
        "purchases_28_days": evidence.orders,
        "category": evidence.category,
        "category_conversion": evidence.category_conversion,
        "elasticity": round(elasticity, 3),
        "elasticity_source": source,
        "last_price_change": evidence.last_change.isoformat() if evidence.last_change else None,
    }
    rising = evidence.recent_rate > 0 and evidence.daily_rate >= evidence.recent_rate * (
        1 + app_settings.PRICE_RISING_DEMAND
    )
    if (
        rising
        and evidence.status == StockStatus.RUNNING_OUT
        and evidence.days_left
        and evidence.lead_days
    ):
        # Demand over the lead time should shrink to what the stock covers.
        share = max(evidence.days_left / evidence.lead_days, 1e-3)
        new, bounds = _bounded(evidence.price, share ** (1 / elasticity), evidence.cost, max_change)
        if new <= evidence.price:
            return None
        reason = (
            f"Demand is rising ({evidence.daily_rate:.2f}/day forecast against "
            f"{evidence.recent_rate:.2f}/day in the last 28 days) and the stock lasts "
            f"{evidence.days_left:.1f} days, within the {evidence.lead_days}-day restock lead time."
        )
        return Proposal(PriceSuggestion.Direction.RAISE, new, reason, {**facts, "bounds": bounds})
    conversion = evidence.orders / evidence.views if evidence.views else 0.0
    category = evidence.category_conversion
    if (
        evidence.views >= app_settings.PRICE_MIN_VIEWS
        and category
        and conversion < category * app_settings.PRICE_LOW_CONVERSION
        and evidence.status not in (StockStatus.RUNNING_OUT, StockStatus.SOLD_OUT)
    ):
        gain = category / max(conversion, category / 100)
        new, bounds = _bounded(evidence.price, gain ** (1 / elasticity), evidence.cost, max_change)
        if new >= evidence.price:
            return None
        reason = (
            f"Viewed {evidence.views} times in 28 days but bought in {conversion:.1%} of views, "
            f"against {category:.1%} in its category"
            + (f" ({evidence.category})." if evidence.category else ".")
        )
        facts["conversion"] = round(conversion, 4)
        return Proposal(PriceSuggestion.Direction.LOWER, new, reason, {**facts, "bounds": bounds})
    return None


def last_changes(item_ids: list[str]) -> dict[str, date]:
    """The day of each product's last accepted price suggestion."""
    accepted = (
        PriceSuggestion.objects.filter(item_id__in=item_ids, status=PriceSuggestion.Status.ACCEPTED)
        .order_by("item_id", "decided_at")
        .values_list("item_id", "decided_at")
    )
    return {item_id: timezone.localtime(decided).date() for item_id, decided in accepted if decided}


def store_suggestions(
    proposals: dict[str, Proposal], titles: dict[str, str], old_prices: dict[str, Decimal]
) -> dict[str, int]:
    """Record tonight's proposals. A pending suggestion the same as tonight's stays as it is;
    any other pending one of the product expires (its situation has changed), with a note."""
    now = timezone.now()
    created = kept = expired = 0
    with transaction.atomic():
        pending = {
            suggestion.item_id: suggestion
            for suggestion in PriceSuggestion.objects.select_for_update().filter(
                status=PriceSuggestion.Status.PENDING
            )
        }
        for item_id, current in pending.items():
            proposal = proposals.get(item_id)
            if (
                proposal is not None
                and proposal.direction == current.direction
                and proposal.new_price == current.new_price
                and old_prices.get(item_id) == current.old_price
            ):
                kept += 1
                continue
            current.status = PriceSuggestion.Status.EXPIRED
            current.decided_at = now
            current.note = "Superseded: the evidence changed at the nightly run."
            current.save(update_fields=["status", "decided_at", "note"])
            expired += 1
        for item_id, proposal in proposals.items():
            still = pending.get(item_id)
            if still is not None and still.status == PriceSuggestion.Status.PENDING:
                continue
            PriceSuggestion.objects.create(
                item_id=item_id,
                title=titles.get(item_id, "")[:200],
                created_at=now,
                direction=proposal.direction,
                old_price=old_prices[item_id],
                new_price=proposal.new_price,
                reason=proposal.reason[:500],
                evidence=proposal.evidence,
            )
            created += 1
    return {"created": created, "kept": kept, "expired": expired}


class DecisionError(Exception):
    """A decision that cannot be taken; nothing changed."""


def _log(suggestion: PriceSuggestion, user: AbstractBaseUser, message: str) -> None:
    LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(PriceSuggestion),
        object_id=str(suggestion.pk),
        object_repr=str(suggestion)[:200],
        action_flag=CHANGE,
        change_message=message,
    )


def _pending(suggestion_id: int) -> PriceSuggestion:
    suggestion = PriceSuggestion.objects.select_for_update().filter(pk=suggestion_id).first()
    if suggestion is None:
        raise DecisionError("No such price suggestion.")
    if suggestion.status != PriceSuggestion.Status.PENDING:
        raise DecisionError(f"This suggestion is already {suggestion.get_status_display()}.")
    return suggestion


def accept(suggestion_id: int, user: AbstractBaseUser, note: str = "") -> PriceSuggestion:
    """Apply the suggested price through the adapter's ``set_price`` and record who did it.

    Refused, with nothing changed, when the adapter cannot set prices, or when the price is no
    longer the one the suggestion started from (someone changed it since: it expires)."""
    catalog = get_catalog()
    with transaction.atomic():
        suggestion = _pending(suggestion_id)
        info = catalog.describe([suggestion.item_id]).get(suggestion.item_id)
        if info is None:
            raise DecisionError("The product no longer exists.")
        if info.price is not None and info.price.quantize(CENT) != suggestion.old_price:
            suggestion.status = PriceSuggestion.Status.EXPIRED
            suggestion.decided_at = timezone.now()
            suggestion.note = f"Expired: the price is now {info.price}, not {suggestion.old_price}."
            suggestion.save(update_fields=["status", "decided_at", "note"])
            _log(suggestion, user, suggestion.note)
            expired = DecisionError(suggestion.note)
        else:
            expired = None
            try:
                catalog.set_price(suggestion.item_id, suggestion.new_price)
            except NotImplementedError as exc:
                raise DecisionError(f"Cannot apply prices here: {exc}") from None
            suggestion.status = PriceSuggestion.Status.ACCEPTED
            suggestion.decided_at = timezone.now()
            suggestion.decided_by_id = user.pk
            suggestion.note = note[:500]
            suggestion.save(update_fields=["status", "decided_at", "decided_by", "note"])
            _log(
                suggestion,
                user,
                f"Accepted: price {suggestion.old_price} → {suggestion.new_price}."
                + (f" {note}" if note else ""),
            )
    if expired is not None:
        raise expired
    return suggestion


def reject(suggestion_id: int, user: AbstractBaseUser, note: str = "") -> PriceSuggestion:
    """Record that ``user`` rejected the suggestion; the price is left as it is."""
    with transaction.atomic():
        suggestion = _pending(suggestion_id)
        suggestion.status = PriceSuggestion.Status.REJECTED
        suggestion.decided_at = timezone.now()
        suggestion.decided_by_id = user.pk
        suggestion.note = note[:500]
        suggestion.save(update_fields=["status", "decided_at", "decided_by", "note"])
        _log(suggestion, user, "Rejected." + (f" {note}" if note else ""))
    return suggestion
