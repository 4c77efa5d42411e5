from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client

from recommendations.merchandising.loading import clear_cache
from shop.models import Category, Product


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
