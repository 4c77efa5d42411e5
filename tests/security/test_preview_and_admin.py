"""Staff preview needs its own permission; admin keeps facts read-only and records changes."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from recommendations.models import Event, EventKind, Rule, VisitorLink
from shop.models import Order, OrderLine
from tests.shop.factories import OrderLineFactory

pytestmark = pytest.mark.django_db
URL = "/recommendations/api/recommendations/buy-again/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bob() -> User:
    bob = User.objects.create_user("bob")
    Event.objects.create(visitor_id="b", user=bob, item_id="1", kind=EventKind.PURCHASE)
    return bob


def test_staff_without_the_permission_cannot_preview(client, bob):
    client.force_login(User.objects.create_user("clerk", is_staff=True))
    response = client.get(URL, {"as_user": bob.pk})
    assert response.status_code == 400
    assert "recommendations.preview_as_user" in response.json()["as_user"][0]


def test_the_preview_permission_allows_it_and_is_logged(client, bob, caplog):
    support = User.objects.create_user("support", is_staff=True)
    support.user_permissions.add(Permission.objects.get(codename="preview_as_user"))
    client.force_login(support)
    with caplog.at_level(logging.INFO, logger="recommendations.preview"):
        response = client.get(URL, {"as_user": bob.pk})
    assert response.status_code == 200
    assert f"support previewed buy-again recommendations of user {bob.pk}" in caplog.text


@pytest.fixture
def staff_client() -> Client:
    """Staff with every permission on the models concerned: what stays read-only is the admin's
    decision, not a missing grant."""
    staff = User.objects.create_user("staff", is_staff=True)
    codenames = [
        f"{verb}_{model}"
        for verb in ("add", "change", "delete", "view")
        for model in ("event", "visitorlink", "order", "orderline", "rule")
    ]
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def test_events_and_visitor_links_are_read_only(staff_client, bob):
    link = VisitorLink.objects.create(visitor_id="v" * 32, user=bob)
    other = User.objects.create_user("other")
    for url in ("/admin/recommendations/event/add/", "/admin/recommendations/visitorlink/add/"):
        assert staff_client.get(url).status_code == 403
    change = f"/admin/recommendations/visitorlink/{link.pk}/change/"
    assert staff_client.get(change).status_code == 200  # viewable
    assert staff_client.post(change, {"user": other.pk}).status_code == 403
    link.refresh_from_db()
    assert link.user_id == bob.pk
    event = Event.objects.get()
    response = staff_client.post(
        f"/admin/recommendations/event/{event.pk}/change/", {"item_id": "2"}
    )
    assert response.status_code == 403


def test_order_lines_and_an_orders_record_are_read_only(staff_client):
    line = OrderLineFactory(quantity=2, unit_price=Decimal("5.00"))
    order = line.order
    order.total = Decimal("10.00")
    order.save()
    line_url = reverse("admin:shop_orderline_change", args=[line.pk])
    assert staff_client.get(line_url).status_code == 200
    assert staff_client.post(line_url, {"quantity": 9}).status_code == 403
    assert staff_client.get(reverse("admin:shop_orderline_add")).status_code == 403
    assert staff_client.get(reverse("admin:shop_order_add")).status_code == 403
    response = staff_client.post(
        reverse("admin:shop_order_change", args=[order.pk]),
        {
            "status": "refunded",
            "total": "0.01",
            "number": "FORGED",
            "email": "x@example.com",
            "created_0": "2000-01-01",
            "created_1": "00:00:00",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-id": str(line.pk),
            "lines-0-order": str(order.pk),
            "lines-0-quantity": "9",
        },
    )
    assert response.status_code == 302, response.content
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED  # a staff decision
    assert (order.total, order.number) == (Decimal("10.00"), line.order.number)
    assert OrderLine.objects.get().quantity == 2


def test_rule_changes_are_in_admin_history(staff_client):
    rule = Rule.objects.create(name="Hide it", action="exclude", item_id="7", active=True)
    response = staff_client.post(
        "/admin/recommendations/rule/",
        {"action": "deactivate", "_selected_action": [str(rule.pk)]},
    )
    assert response.status_code == 302
    entry = LogEntry.objects.get(object_id=str(rule.pk))
    assert entry.action_flag == CHANGE
    assert entry.user.username == "staff"
    assert "deactivated" in entry.get_change_message()
