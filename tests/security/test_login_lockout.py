"""The admin login withstands password guessing (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password-1"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def admin_login(client: Client, username: str, password: str, address: str = "192.0.2.10"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_after_the_failure_limit_the_right_password_is_refused(settings):
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert admin_login(client, "root", "guess").status_code == 200  # the form again
    assert admin_login(client, "root", "guess").status_code == 429  # the limit: locked out
    response = admin_login(client, "root", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)
    # Rotating the address does not help: the username is locked out.
    assert admin_login(Client(), "root", PASSWORD, address="198.51.100.99").status_code == 429


def test_fewer_failures_than_the_limit_still_let_the_owner_in(settings):
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        admin_login(client, "root", "guess")
    assert admin_login(client, "root", PASSWORD).status_code == 302
    assert logged_in(client)


def test_attempts_store_no_raw_address(settings):
    from axes.models import AccessAttempt

    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    admin_login(Client(), "root", "guess", address="203.0.113.77")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.0"]
