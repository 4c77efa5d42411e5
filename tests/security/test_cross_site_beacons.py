"""Another site's page cannot write into a visitor's history, nor attach it to an account."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from recommendations.models import Event, VisitorLink
from tests.tracking.conftest import event, post_events, products  # noqa: F401  # fixture

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-test-password-1"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_ORIGIN": "https://testserver"},  # another scheme is another origin
        {"HTTP_ORIGIN": "http://[oops"},  # not a URL at all (urlsplit raises)
    ],
)
def test_a_cross_site_batch_is_refused_and_nothing_is_stored(client, products, drain, headers):  # noqa: F811
    seen = post_events(client, [event("view", str(products[0].pk))])
    assert seen.status_code == 202  # the visitor now has a cookie
    response = post_events(client, [event("click", str(products[1].pk))], **headers)
    assert response.status_code == 403
    assert "Cross-site event batches are refused" in response.json()["detail"]
    drain()
    assert list(Event.objects.values_list("item_id", flat=True)) == [str(products[0].pk)]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a server-side client
        {"HTTP_ORIGIN": "http://testserver", "HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_SEC_FETCH_SITE": "same-origin"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        {"HTTP_ORIGIN": "https://app.example.com"},  # a trusted origin (pattern)
    ],
)
def test_same_site_batches_are_accepted(client, products, drain, settings, headers):  # noqa: F811
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    response = post_events(client, [event("click", str(products[0].pk))], **headers)
    assert response.status_code == 202, response.content
    drain()
    assert Event.objects.count() == 1


def login(client: Client, username: str, **headers: str):
    return client.post(
        reverse("shop:login"), {"username": username, "password": PASSWORD}, **headers
    )


def test_a_refused_cross_site_batch_is_never_stitched_at_login(client, products, drain):  # noqa: F811
    user = get_user_model().objects.create_user("ann", password=PASSWORD)
    assert post_events(client, [event("view", str(products[0].pk))]).status_code == 202
    forged = post_events(
        client, [event("click", str(products[1].pk))], HTTP_ORIGIN="https://evil.example"
    )
    assert forged.status_code == 403
    drain()
    assert login(client, "ann", HTTP_ORIGIN="http://testserver").status_code == 302
    assert list(Event.objects.filter(user=user).values_list("item_id", flat=True)) == [
        str(products[0].pk)
    ]
    assert not Event.objects.filter(item_id=str(products[1].pk)).exists()


def test_a_login_started_from_another_site_does_not_stitch(client, products, drain):  # noqa: F811
    """A forged login (into the attacker's account) must not hand over this browser's history."""
    attacker = get_user_model().objects.create_user("mallory", password=PASSWORD)
    assert post_events(client, [event("view", str(products[0].pk))]).status_code == 202
    drain()
    response = login(client, "mallory", HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 302
    assert not VisitorLink.objects.exists()
    assert not Event.objects.filter(user=attacker).exists()
    assert Event.objects.get().user_id is None
