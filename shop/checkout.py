"""Turning a cart into a paid order.

Kept out of the view so that tests and the shell can place orders the same way the checkout page
does. Stock check, payment, order rows, stock decrement and the ``order_placed`` signal happen in
one transaction: a declined card or a failed write leaves no order, no stock change and (because
the app's receiver waits for commit) no purchase events.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from recommendations.catalog import items_changed
from recommendations.fraud.attempts import fingerprint_card
from recommendations.models import ReviewStatus, RiskAssessment, RiskSubject
from recommendations.signals import order_placed, payment_failed

from . import payments
from .cart import Cart
from .models import Order, OrderLine, Product


class CheckoutError(Exception):
    """The order cannot be placed; ``str(error)`` is meant for the shopper."""


class PaymentDeclined(CheckoutError):
    def __init__(self, message: str, *, amount: Decimal | None = None) -> None:
        super().__init__(message)
        self.amount = amount


def new_order_number() -> str:
    return f"W{timezone.now():%y%m%d}-{secrets.token_hex(4).upper()}"


def place_order(
    request: HttpRequest, cart: Cart, *, email: str, card_number: str, shipping_address: str = ""
) -> Order:
    """Charge the card and record the order; raises :class:`CheckoutError` and changes nothing.

    A refused payment is reported (``payment_failed``) after the transaction is rolled back, so
    that fraud's velocity rules see it."""
    try:
        return _place_order(
            request, cart, email=email, card_number=card_number, shipping_address=shipping_address
        )
    except PaymentDeclined as declined:
        payment_failed.send(
            sender=Order,
            request=request,
            user=request.user if request.user.is_authenticated else None,
            email=email,
            shipping_address=shipping_address,
            card_fingerprint=fingerprint_card(card_number),
            amount=declined.amount,
        )
        raise


def _place_order(
    request: HttpRequest, cart: Cart, *, email: str, card_number: str, shipping_address: str
) -> Order:
    wanted = {line.product.pk: line.quantity for line in cart.lines()}
    if not wanted:
        raise CheckoutError("Your cart is empty.")
    user = request.user if request.user.is_authenticated else None
    with transaction.atomic():
        products = Product.objects.select_for_update().in_bulk(list(wanted))
        for pk, quantity in wanted.items():
            product = products.get(pk)
            if product is None or not product.active:
                raise CheckoutError("A product in your cart is no longer available.")
            if product.stock < quantity:
                raise CheckoutError(
                    f"Only {product.stock} of {product.title} left; please update your cart."
                )
        total = sum(
            (products[pk].price * quantity for pk, quantity in wanted.items()), Decimal("0.00")
        )
        result = payments.charge(card_number, total)
        if not result.approved:
            raise PaymentDeclined(result.message, amount=total)
        order = Order.objects.create(
            number=new_order_number(),
            user=user,
            email=email,
            shipping_address=shipping_address,
            status=Order.Status.PAID,
            total=total,
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order, product=products[pk], quantity=qty, unit_price=products[pk].price
            )
            for pk, qty in wanted.items()
        )
        for pk, quantity in wanted.items():
            Product.objects.filter(pk=pk).update(stock=F("stock") - quantity)
        if Product.objects.filter(pk__in=list(wanted), stock=0).exists():
            items_changed()  # sold out: recommendation lists must stop showing them
        order_placed.send(
            sender=Order,
            request=request,
            order_id=order.pk,
            user=user,
            lines=[(str(pk), qty, products[pk].price) for pk, qty in wanted.items()],
            email=email,
            shipping_address=shipping_address,
            card_fingerprint=fingerprint_card(card_number),
            total=total,
        )
    cart.clear()
    return order


def hold_order(sender: object, order_id: object, **kwargs: object) -> None:
    """Receiver of the app's ``order_held``: mark the order so that it is not shipped before
    staff have reviewed it (connected in ``ShopConfig.ready``). The customer sees no change."""
    Order.objects.filter(pk=order_id).update(held_for_review=True)


def release_reviewed_order(sender: object, assessment: RiskAssessment, **kwargs: object) -> None:
    """Receiver of the app's ``risk_reviewed``: an order staff dismissed may ship; a confirmed
    one stays held (what to do with it is the store's call, made by a person)."""
    if assessment.subject != RiskSubject.ORDER or assessment.status != ReviewStatus.DISMISSED:
        return
    if assessment.key.isascii() and assessment.key.isdecimal():
        Order.objects.filter(pk=int(assessment.key)).update(held_for_review=False)
