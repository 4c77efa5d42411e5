from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from recommendations.merchandising.loading import clear_cache
from shop.models import Category, Product


@pytest.fixture(autouse=True)
def _fresh_caches():
    cache.clear()
    clear_cache()
    yield
    cache.clear()
    clear_cache()


@pytest.fixture
def catalogue(db) -> dict[str, list[Product]]:
    """Three categories of six products each."""
    out = {}
    for name in ("Kitchen", "Garden", "Toys"):
        category = Category.objects.create(name=name, slug=name.lower())
        out[name] = [
            Product.objects.create(
                sku=f"{name[:3].upper()}{i}",
                title=f"{name} thing {i}",
                slug=f"{name.lower()}-thing-{i}",
                category=category,
                price=Decimal("5.00") + i,
                stock=5,
            )
            for i in range(6)
        ]
    return out


def ids(products) -> list[str]:
    return [str(p.pk) for p in products]
