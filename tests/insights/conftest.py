"""Products and their behaviour, generated day by day for the insights tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from recommendations.models import Event, EventKind
from shop.models import Category, Product


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def make_product(db) -> Callable[..., Product]:
    categories: dict[str, Category] = {}

    def make(
        title: str, *, stock: int = 10, price: str = "10.00", category: str = "Kitchen"
    ) -> Product:
        if category not in categories:
            categories[category] = Category.objects.get_or_create(
                name=category, slug=category.lower()
            )[0]
        return Product.objects.create(
            sku=title.upper().replace(" ", "-")[:32],
            title=title,
            category=categories[category],
            price=Decimal(price),
            stock=stock,
        )

    return make


@pytest.fixture
def record(today) -> Callable[..., int]:
    """``record(product, {days_ago: count}, kind, quantity=..., price=...)`` stores events."""

    def add(
        product: Product,
        counts: dict[int, float] | Iterable[tuple[int, float]],
        kind: EventKind = EventKind.PURCHASE,
        *,
        price: str | None = None,
        prices: dict[int, str] | None = None,
    ) -> int:
        rows = []
        pairs = counts.items() if isinstance(counts, dict) else counts
        for days_ago, count in pairs:
            if count <= 0:
                continue
            ts = noon(today - timedelta(days=days_ago))
            if kind == EventKind.PURCHASE:
                paid = (prices or {}).get(days_ago, price or str(product.price))
                rows.append(
                    Event(
                        visitor_id=f"v-{product.pk}-{days_ago}",
                        item_id=str(product.pk),
                        kind=kind,
                        value=float(count),
                        ts=ts,
                        context={"order": 10_000 + days_ago, "price": paid},
                    )
                )
            else:
                rows += [
                    Event(
                        visitor_id=f"v-{product.pk}-{days_ago}-{i}",
                        item_id=str(product.pk),
                        kind=kind,
                        ts=ts,
                    )
                    for i in range(int(count))
                ]
        Event.objects.bulk_create(rows)
        return len(rows)

    return add


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def merchandiser(db) -> User:
    return staff(
        "merch",
        "view_productinsight",
        "view_pricesuggestion",
        "change_pricesuggestion",
    )


@pytest.fixture
def merch_client(merchandiser: User) -> Client:
    client = Client()
    client.force_login(merchandiser)
    return client
