from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from recommendations import caches
from recommendations.experiments.assignment import assign
from recommendations.models import Experiment, ExperimentVariant, VariantKind
from recommendations.tracking.identity import _SALT
from shop.models import Category, Product

COOKIE = "recommendations_visitor"


@pytest.fixture(autouse=True)
def _fresh_caches():
    cache.clear()
    caches.invalidate()
    yield
    cache.clear()
    caches.invalidate()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def products(db) -> list[Product]:
    category = Category.objects.create(name="Kitchen", slug="kitchen")
    return [
        Product.objects.create(
            sku=f"K{i}",
            title=f"Kitchen thing {i}",
            slug=f"kitchen-thing-{i}",
            category=category,
            price=Decimal("5.00") + i,
            stock=5,
        )
        for i in range(12)
    ]


@pytest.fixture
def make_experiment(db) -> Callable[..., Experiment]:
    def make(
        *variants: tuple[str, str, str, float],
        slots: tuple[str, ...] = ("for-you",),
        key: str = "exp",
        **fields: Any,
    ) -> Experiment:
        experiment = Experiment.objects.create(
            key=key,
            name=fields.pop("name", "Test experiment"),
            slots=list(slots),
            starts_at=fields.pop("starts_at", timezone.now() - timedelta(hours=1)),
            **fields,
        )
        for variant_key, name, kind, weight in variants or (
            ("control", "Control", VariantKind.CONTROL, 50.0),
            ("b", "Variant B", VariantKind.HOLDOUT, 50.0),
        ):
            ExperimentVariant.objects.create(
                experiment=experiment, key=variant_key, name=name, kind=kind, weight=weight
            )
        return experiment

    return make


def visitor_in(experiment: Experiment, variant_key: str, avoid: set[str] | None = None) -> str:
    """A fresh visitor id that the real assignment puts into ``variant_key``."""
    variants = [(v.key, v.weight) for v in experiment.variants.order_by("pk")]
    while True:
        visitor = uuid.uuid4().hex
        if assign(experiment.key, variants, visitor) == variant_key and visitor not in (
            avoid or set()
        ):
            return visitor


def visitor_client(visitor: str) -> Client:
    """A test client carrying ``visitor``'s signed cookie, as their browser would."""
    carrier = HttpResponse()
    carrier.set_signed_cookie(COOKIE, visitor, salt=_SALT)
    client = Client()
    client.cookies[COOKIE] = carrier.cookies[COOKIE].value
    return client
