from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client

from recommendations.merchandising.loading import clear_cache
from recommendations.models import Event, EventKind, Rule
from recommendations.stores import get_store
from recommendations.types import Action
from shop.models import Category, Product
from tests.serving.test_browser import DESKTOP_CHROME, start_chromium


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Rolled-back rules send no signal, and cached lists would outlive their test."""
    cache.clear()
    clear_cache()
    yield
    cache.clear()
    clear_cache()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalogue(db) -> dict[str, list[Product]]:
    """Kitchen & Dining, Garden and Toys, four products each, brand by category."""
    out = {}
    for name, brand in (
        ("Kitchen & Dining", "Hearth & Co"),
        ("Garden", "Greenway"),
        ("Toys", "Acme"),
    ):
        category = Category.objects.create(name=name, slug=name.lower().replace(" & ", "-"))
        out[name] = [
            Product.objects.create(
                sku=f"{name[:3].upper()}-{i}",
                title=f"{name} thing {i}",
                category=category,
                brand=brand,
                price=Decimal("5.00") + i,
                stock=5,
            )
            for i in range(4)
        ]
    return out


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def merchandiser(db) -> User:
    """Staff who edit rules and may preview customers: the person these pages are for."""
    return _staff(
        "merch",
        "add_rule",
        "change_rule",
        "view_rule",
        "delete_rule",
        "preview_as_user",
    )


@pytest.fixture
def merch_client(merchandiser: User) -> Client:
    client = Client()
    client.force_login(merchandiser)
    return client


@pytest.fixture
def clerk_client(db) -> Client:
    """Staff who may edit rules but not look at customers' recommendations."""
    client = Client()
    client.force_login(_staff("clerk", "add_rule", "change_rule", "view_rule"))
    return client


@pytest.fixture
def shopper(db) -> User:
    return User.objects.create_user("ann", "ann@example.com", "pw")


#: Screenshots of the browser tests, for a person to look at.
ARTIFACTS = Path(
    os.environ.get("TEST_ARTIFACTS_DIR") or Path(settings.BASE_DIR) / "var" / "test-artifacts"
)


@pytest.fixture
def staff_browser(live_server, client):
    """Headless Chromium signed in as a superuser (a session made by the test client)."""
    user = get_user_model().objects.create_superuser("merchandiser", "m@example.com", "pw-1234567")
    client.force_login(user)
    driver, profile = start_chromium(f"--user-agent={DESKTOP_CHROME}")
    driver.get(f"{live_server.url}/admin/login/")
    driver.add_cookie(
        {
            "name": settings.SESSION_COOKIE_NAME,
            "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "path": "/",
        }
    )
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def ann_has_history(catalogue, shopper):
    """Ann viewed a garden product; her precomputed list is the kitchen; one kitchen item is
    pinned first and Toys are excluded."""
    kitchen, garden = catalogue["Kitchen & Dining"], catalogue["Garden"]
    Event.objects.create(
        visitor_id="v-ann", user=shopper, item_id=str(garden[0].pk), kind=EventKind.VIEW
    )
    get_store().put_many(
        {f"user:{shopper.pk}": [(str(p.pk), 1.0 - i / 10) for i, p in enumerate(kitchen)]}
    )
    pin = Rule.objects.create(
        name="Push the teapot", action=Action.PIN, item_id=str(kitchen[3].pk), position=1
    )
    Rule.objects.create(name="No toys", action=Action.EXCLUDE, category="Toys")
    return pin
