"""The session cart: adding, changing and removing, and the signals the app learns from."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from recommendations.signals import cart_item_added, cart_item_removed

from .factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cart_signals():
    """Every cart signal the store sends, as (name, item_id, quantity)."""
    sent: list[tuple[str, str, int]] = []

    def added(sender: Any, request: Any, item_id: str, quantity: int, **kwargs: Any) -> None:
        assert request is not None
        sent.append(("added", item_id, quantity))

    def removed(sender: Any, request: Any, item_id: str, quantity: int, **kwargs: Any) -> None:
        sent.append(("removed", item_id, quantity))

    cart_item_added.connect(added, dispatch_uid="test-added")
    cart_item_removed.connect(removed, dispatch_uid="test-removed")
    yield sent
    cart_item_added.disconnect(dispatch_uid="test-added")
    cart_item_removed.disconnect(dispatch_uid="test-removed")


def cart_count(client) -> int:
    return client.get(reverse("shop:cart")).context["cart_count"]


def test_add_update_remove_changes_the_cart_count(client, cart_signals):
    teapot, mug = ProductFactory(title="Teapot"), ProductFactory(title="Mug", price="4.00")
    client.post(reverse("shop:cart_add", kwargs={"pk": teapot.pk}), {"quantity": 2})
    client.post(reverse("shop:cart_add", kwargs={"pk": mug.pk}), {"quantity": 1})
    assert cart_count(client) == 3
    page = client.get(reverse("shop:cart")).content.decode()
    assert "Teapot" in page and "Mug" in page and "£29.00" in page

    client.post(reverse("shop:cart_update", kwargs={"pk": teapot.pk}), {"quantity": 1})
    assert cart_count(client) == 2
    client.post(reverse("shop:cart_remove", kwargs={"pk": mug.pk}))
    assert cart_count(client) == 1
    client.post(reverse("shop:cart_update", kwargs={"pk": teapot.pk}), {"quantity": 0})
    assert cart_count(client) == 0

    t, m = str(teapot.pk), str(mug.pk)
    assert cart_signals == [
        ("added", t, 2),
        ("added", m, 1),
        ("removed", t, 1),
        ("removed", m, 1),
        ("removed", t, 1),
    ]


def test_header_badge_shows_the_count(client):
    product = ProductFactory()
    client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": 3})
    html = client.get(reverse("shop:home")).content.decode()
    assert '<span class="cart-count" data-testid="cart-count">3</span>' in html


def test_cannot_add_more_than_in_stock(client, cart_signals):
    product = ProductFactory(stock=2)
    response = client.post(
        reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": 3}, follow=True
    )
    assert "Only 2 of" in response.content.decode()
    assert cart_count(client) == 0
    assert cart_signals == []


def test_cart_changes_need_post(client):
    product = ProductFactory()
    assert client.get(reverse("shop:cart_add", kwargs={"pk": product.pk})).status_code == 405


def test_cart_changes_need_csrf_token():
    from django.test import Client

    product = ProductFactory()
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": 1})
    assert response.status_code == 403


def test_add_redirects_back_to_a_local_page_only(client):
    product = ProductFactory()
    url = reverse("shop:cart_add", kwargs={"pk": product.pk})
    back = client.post(url, {"quantity": 1, "next": "/search/?q=tea"})
    assert back.url == "/search/?q=tea"
    elsewhere = client.post(url, {"quantity": 1, "next": "https://evil.example/"})
    assert elsewhere.url == reverse("shop:cart")


def test_a_product_hidden_after_adding_drops_out_of_the_cart(client):
    product = ProductFactory(title="Soon Gone")
    client.post(reverse("shop:cart_add", kwargs={"pk": product.pk}), {"quantity": 1}, follow=True)
    product.active = False
    product.save()
    response = client.get(reverse("shop:cart"))
    assert "Soon Gone" not in response.content.decode()
    assert client.post(reverse("shop:cart_remove", kwargs={"pk": product.pk})).status_code == 302
