"""Checkout attempts as the store reports them: what the velocity and address rules count.

Written by the app's receivers of ``order_placed`` and ``payment_failed`` once the store's
transaction commits (one insert; a declined payment rolls nothing back, so it is written at
once). The card is known only by a fingerprint, the address only in its normalised form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from recommendations.models import CheckoutAttempt

_NOT_WORD = re.compile(r"[^\w]+")


def fingerprint_card(number: str) -> str:
    """A stable, keyed fingerprint of a card number for ``order_placed``'s ``card_fingerprint``.

    HMAC-SHA256 under ``SECRET_KEY``: equal cards match, yet the number cannot be recovered from
    the fingerprint without the key (a plain hash of a 16-digit number can be brute-forced).
    """
    digits = "".join(ch for ch in number if ch.isdigit())
    if not digits:
        return ""
    key = str(settings.SECRET_KEY).encode()
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:32]


def normalise_address(address: str) -> str:
    """One spelling per address: accents folded, case and punctuation ignored, spaces collapsed
    ("12 Rue de l'Église,  Paris" and "12 rue de l eglise paris" are one address)."""
    folded = unicodedata.normalize("NFKD", address or "").encode("ascii", "ignore").decode()
    return " ".join(_NOT_WORD.sub(" ", folded.lower()).split())[:500]


def record_attempt(
    *,
    approved: bool,
    order_id: str = "",
    user_id: int | None = None,
    visitor_id: str = "",
    email: str = "",
    shipping_address: str = "",
    card_fingerprint: str = "",
    amount: Decimal | None = None,
    at: datetime | None = None,
) -> CheckoutAttempt:
    """Store one checkout attempt (an order, or a refused payment when not ``approved``)."""
    return CheckoutAttempt.objects.create(
        created=at or timezone.now(),
        order_id=str(order_id)[:64],
        approved=approved,
        user_id=user_id,
        visitor_id=(visitor_id or "")[:64],
        email=(email or "").strip().lower()[:254],
        address=normalise_address(shipping_address),
        card_fingerprint=(card_fingerprint or "")[:64],
        amount=amount,
    )
