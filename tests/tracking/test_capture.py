"""Capture from the storefront: product views, cart changes, orders, identity and consent.

These run in both modes: in services mode the events travel through the Redis stream and the
ingest consumer (``drain``); in embedded mode they are inserted when the request commits.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from recommendations.models import Event, EventKind, VisitorLink

from .conftest import product_url

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {
    "email": "ann@example.com",
    "shipping_address": "1 High Street, Leeds",
    "name": "Ann Buyer",
    "expiry": "12/39",
    "cvc": "123",
}


def kinds() -> list[tuple[int, str]]:
    return list(Event.objects.order_by("ts", "id").values_list("kind", "item_id"))


def test_product_view_is_captured_once_with_context(client, products, drain):
    response = client.get(
        product_url(products[0]), HTTP_REFERER="https://shop.example/c/kitchen/?page=2"
    )
    assert response.status_code == 200
    client.get(reverse("shop:home"))  # not a tracked view
    drain()
    event = Event.objects.get()
    assert (event.kind, event.item_id) == (EventKind.VIEW, str(products[0].pk))
    assert event.context == {"path": product_url(products[0]), "referrer": "/c/kitchen/"}
    assert "REMOTE_ADDR" not in str(event.context) and "127.0.0.1" not in str(event.context)


def test_missing_product_page_is_not_a_view(client, products, drain):
    assert client.get(reverse("shop:product_detail", kwargs={"pk": 999999})).status_code == 404
    drain()
    assert not Event.objects.exists()


def test_cart_and_checkout_produce_cart_and_purchase_events(client, products, drain):
    client.get(product_url(products[0]))
    client.post(reverse("shop:cart_add", kwargs={"pk": products[0].pk}), {"quantity": 2})
    client.post(reverse("shop:cart_add", kwargs={"pk": products[1].pk}), {"quantity": 1})
    client.post(reverse("shop:cart_remove", kwargs={"pk": products[1].pk}))
    response = client.post(reverse("shop:checkout"), {**CARD, "card_number": "4242424242424242"})
    assert response.status_code == 302
    drain()
    a, b = str(products[0].pk), str(products[1].pk)
    assert kinds() == [
        (EventKind.VIEW, a),
        (EventKind.ADD_TO_CART, a),
        (EventKind.ADD_TO_CART, b),
        (EventKind.REMOVE_FROM_CART, b),
        (EventKind.PURCHASE, a),
    ]
    purchase = Event.objects.get(kind=EventKind.PURCHASE)
    assert purchase.value == 2
    assert purchase.context["price"] == "9.50"
    assert len(set(Event.objects.values_list("visitor_id", flat=True))) == 1


def test_declined_payment_records_no_purchase(client, products, drain):
    client.post(reverse("shop:cart_add", kwargs={"pk": products[0].pk}), {"quantity": 1})
    response = client.post(reverse("shop:checkout"), {**CARD, "card_number": "4000000000000002"})
    assert response.status_code == 200
    drain()
    assert not Event.objects.filter(kind=EventKind.PURCHASE).exists()


def test_anonymous_history_is_stitched_to_the_account_at_login(client, products, drain):
    user = get_user_model().objects.create_user("carol", password="a-long-password-1")
    client.get(product_url(products[0]))
    drain()
    client.post(reverse("shop:login"), {"username": "carol", "password": "a-long-password-1"})
    client.get(product_url(products[1]))
    drain()
    assert list(Event.objects.values_list("user_id", flat=True)) == [user.pk, user.pk]
    assert VisitorLink.objects.get().user == user


def test_events_in_flight_at_login_are_attributed_too(client, products, drain):
    user = get_user_model().objects.create_user("dora", password="a-long-password-1")
    client.get(product_url(products[0]))  # still queued in services mode
    client.post(reverse("shop:login"), {"username": "dora", "password": "a-long-password-1"})
    drain()
    assert Event.objects.get().user == user


def test_logout_starts_a_new_visitor(client, products, drain):
    get_user_model().objects.create_user("erin", password="a-long-password-1")
    client.post(reverse("shop:login"), {"username": "erin", "password": "a-long-password-1"})
    client.get(product_url(products[0]))
    client.post(reverse("shop:logout"))
    client.get(product_url(products[1]))
    drain()
    first, second = Event.objects.order_by("ts", "id")
    assert first.user is not None and second.user is None
    assert first.visitor_id != second.visitor_id


@pytest.mark.parametrize("header", [{"HTTP_SEC_GPC": "1"}, {"HTTP_DNT": "1"}])
def test_privacy_signals_mean_nothing_is_stored(client, products, drain, header):
    response = client.get(product_url(products[0]), **header)
    assert response.status_code == 200
    assert "recommendations_visitor" not in response.cookies
    client.post(reverse("shop:cart_add", kwargs={"pk": products[0].pk}), {"quantity": 1}, **header)
    drain()
    assert not Event.objects.exists()


def test_consent_required_until_granted(client, products, drain, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CONSENT_REQUIRED": True}
    client.get(product_url(products[0]))
    client.cookies["recommendations_consent"] = "granted"
    client.get(product_url(products[1]))
    drain()
    assert kinds() == [(EventKind.VIEW, str(products[1].pk))]


def test_forged_visitor_cookie_is_replaced(client, products, drain):
    client.cookies["recommendations_visitor"] = "someone-elses-visitor-id"
    response = client.get(product_url(products[0]))
    drain()
    event = Event.objects.get()
    assert event.visitor_id != "someone-elses-visitor-id"
    assert response.cookies["recommendations_visitor"].value.startswith(event.visitor_id)
