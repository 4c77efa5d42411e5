"""Accounts: sign-up, log in and out, and order history that is nobody else's business."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse

from .factories import PASSWORD, OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_then_log_in(client):
    response = client.post(
        reverse("shop:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "correct-horse-battery",
            "password2": "correct-horse-battery",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").email == "newbie@example.com"
    assert "Log out" in client.get(reverse("shop:home")).content.decode()

    client.post(reverse("shop:logout"))
    assert "Log in" in client.get(reverse("shop:home")).content.decode()

    response = client.post(
        reverse("shop:login"), {"username": "newbie", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response.url == reverse("shop:home")
    assert client.get(reverse("shop:order_list")).status_code == 200


def test_sign_up_rejects_mismatched_passwords(client):
    response = client.post(
        reverse("shop:signup"),
        {"username": "x", "password1": "correct-horse-battery", "password2": "other-horse-1"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="x").exists()


def test_wrong_password_does_not_log_in(client):
    UserFactory(username="ann")
    response = client.post(reverse("shop:login"), {"username": "ann", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_order_history_needs_login(client):
    response = client.get(reverse("shop:order_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("shop:login"))


def test_history_shows_only_own_orders_and_others_are_404(client):
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    mine = OrderLineFactory(order=OrderFactory(user=ann, number="ANN-1")).order
    theirs = OrderLineFactory(order=OrderFactory(user=bob, number="BOB-1")).order
    # django-axes checks every authentication against its lockouts and needs the request for it.
    assert client.login(request=HttpRequest(), username="ann", password=PASSWORD)

    history = client.get(reverse("shop:order_list")).content.decode()
    assert "ANN-1" in history and "BOB-1" not in history

    own = client.get(mine.get_absolute_url())
    assert own.status_code == 200
    assert mine.lines.get().product.title in own.content.decode()
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert client.get(reverse("shop:order_complete", kwargs={"number": "BOB-1"})).status_code == 404


def test_guest_orders_are_nobodys_history(client):
    OrderFactory(user=None, number="GUEST-1")
    client.force_login(UserFactory())
    assert "GUEST-1" not in client.get(reverse("shop:order_list")).content.decode()
    assert client.get(reverse("shop:order_detail", kwargs={"number": "GUEST-1"})).status_code == 404
