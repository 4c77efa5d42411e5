"""A simulated card processor.

The demo must show both outcomes of a payment without a real provider: any card number ending in
``0002`` is declined (the same convention as common sandbox test cards, e.g. 4000 0000 0000 0002),
every other well-formed number is approved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

DECLINED_SUFFIX = "0002"
DECLINE_MESSAGE = (
    "Your card was declined. No payment was taken and your cart is unchanged; "
    "please check the details or use another card."
)


@dataclass(frozen=True, slots=True)
class PaymentResult:
    approved: bool
    message: str = ""
    reference: str = ""


def normalise_card_number(raw: str) -> str:
    return "".join(ch for ch in raw if not ch.isspace() and ch != "-")


def charge(card_number: str, amount: Decimal) -> PaymentResult:
    """Charge ``amount`` to the card; never raises for a refusal, the result says so."""
    number = normalise_card_number(card_number)
    if number.endswith(DECLINED_SUFFIX) or amount <= 0:
        return PaymentResult(approved=False, message=DECLINE_MESSAGE)
    return PaymentResult(approved=True, reference=f"sim_{secrets.token_hex(8)}")
