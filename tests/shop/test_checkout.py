"""Checkout: a paid order changes stock and is announced; a declined card changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from recommendations.fraud.attempts import fingerprint_card
from recommendations.models import CheckoutAttempt
from recommendations.signals import order_placed
from shop.models import Order

from .factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

CARD = {
    "email": "ann@example.com",
    "shipping_address": "1 High Street, Leeds",
    "name": "Ann Buyer",
    "expiry": "12/39",
    "cvc": "123",
}
APPROVED = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"


@pytest.fixture
def orders_placed():
    """Each order_placed signal's arguments, and whether it came inside a transaction."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append({"sender": sender, "in_atomic": connection.in_atomic_block, **kwargs})

    order_placed.connect(receiver, dispatch_uid="test-order-placed")
    yield sent
    order_placed.disconnect(dispatch_uid="test-order-placed")


def fill_cart(client, *items: tuple[Any, int]) -> None:
    for product, quantity in items:
        client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": quantity})


def test_successful_checkout_creates_a_paid_order_and_takes_stock(client, orders_placed):
    teapot = ProductFactory(title="Teapot", price=Decimal("12.50"), stock=5)
    mug = ProductFactory(title="Mug", price=Decimal("4.00"), stock=10)
    fill_cart(client, (teapot, 2), (mug, 3))

    response = client.post(reverse("shop:checkout"), {**CARD, "card_number": APPROVED})

    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("shop:order_complete", kwargs={"number": order.number})
    assert order.status == Order.Status.PAID
    assert order.total == Decimal("37.00")
    assert order.email == "ann@example.com" and order.user is None
    assert sorted((line.product.title, line.quantity) for line in order.lines.all()) == [
        ("Mug", 3),
        ("Teapot", 2),
    ]
    teapot.refresh_from_db()
    mug.refresh_from_db()
    assert (teapot.stock, mug.stock) == (3, 7)

    page = client.get(response.url).content.decode()
    assert "Thank you for your order" in page and order.number in page
    assert client.get(reverse("shop:cart")).context["cart_count"] == 0

    [signal] = orders_placed
    assert signal["sender"] is Order and signal["order_id"] == order.pk and signal["user"] is None
    assert signal["in_atomic"], "order_placed must be sent inside the order's transaction"
    assert sorted(signal["lines"]) == sorted(
        [(str(teapot.pk), 2, Decimal("12.50")), (str(mug.pk), 3, Decimal("4.00"))]
    )


def test_declined_card_creates_no_order_and_keeps_stock(client, orders_placed):
    teapot = ProductFactory(stock=5)
    fill_cart(client, (teapot, 2))

    response = client.post(reverse("shop:checkout"), {**CARD, "card_number": DECLINED})

    assert response.status_code == 200
    assert "Your card was declined" in response.content.decode()
    assert not Order.objects.exists()
    teapot.refresh_from_db()
    assert teapot.stock == 5
    assert orders_placed == []
    assert client.get(reverse("shop:cart")).context["cart_count"] == 2


def test_each_payment_attempt_is_recorded_for_fraud_scoring(
    client, django_capture_on_commit_callbacks
):
    """A refused card and the paid order after it are two checkout attempts: the card known only
    by its fingerprint, the address normalised, the refusal kept although the order rolled back."""
    teapot = ProductFactory(price=Decimal("12.50"), stock=5)
    fill_cart(client, (teapot, 2))
    address = {"shipping_address": "1 High  Street,\nLEEDS"}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("shop:checkout"), {**CARD, **address, "card_number": DECLINED})
        client.post(reverse("shop:checkout"), {**CARD, **address, "card_number": APPROVED})

    failed, paid = CheckoutAttempt.objects.order_by("pk")
    order = Order.objects.get()
    assert (failed.approved, failed.order_id, failed.amount) == (False, "", Decimal("25.00"))
    assert (paid.approved, paid.order_id, paid.amount) == (True, str(order.pk), Decimal("25.00"))
    assert paid.card_fingerprint == fingerprint_card(APPROVED) != failed.card_fingerprint
    assert "4242424242424242" not in paid.card_fingerprint
    assert failed.address == paid.address == "1 high street leeds"
    assert paid.email == "ann@example.com" and paid.visitor_id == failed.visitor_id != ""
    assert order.shipping_address == "1 High  Street,\nLEEDS"


def test_logged_in_checkout_belongs_to_the_user(client):
    user = UserFactory(email="bob@example.com")
    client.force_login(user)
    fill_cart(client, (ProductFactory(), 1))
    form = client.get(reverse("shop:checkout")).context["form"]
    assert form.initial["email"] == "bob@example.com"
    client.post(reverse("shop:checkout"), {**CARD, "card_number": APPROVED})
    assert Order.objects.get().user == user


def test_stock_sold_meanwhile_stops_the_order(client):
    product = ProductFactory(stock=3)
    fill_cart(client, (product, 3))
    product.stock = 1
    product.save()
    response = client.post(reverse("shop:checkout"), {**CARD, "card_number": APPROVED})
    assert "Only 1 of" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("card_number", "1234", "12 to 19 digits"),
        ("expiry", "13/30", "MM/YY"),
        ("expiry", "01/20", "expired"),
        ("cvc", "12", "3 or 4 digits"),
        ("email", "not-an-email", "valid email"),
    ],
)
def test_invalid_payment_details_are_explained(client, field, value, message):
    fill_cart(client, (ProductFactory(), 1))
    data = {**CARD, "card_number": APPROVED, field: value}
    response = client.post(reverse("shop:checkout"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_empty_cart_cannot_check_out(client):
    response = client.get(reverse("shop:checkout"))
    assert response.status_code == 302 and response.url == reverse("shop:cart")


def test_order_complete_page_is_private_to_who_placed_it(client):
    fill_cart(client, (ProductFactory(), 1))
    client.post(reverse("shop:checkout"), {**CARD, "card_number": APPROVED})
    url = reverse("shop:order_complete", kwargs={"number": Order.objects.get().number})
    assert client.get(url).status_code == 200
    from django.test import Client

    assert Client().get(url).status_code == 404
