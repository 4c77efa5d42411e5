"""What the catalogue adapter tells insights: stock levels, and prices it may or may not set."""

from __future__ import annotations

from decimal import Decimal

import pytest

from recommendations.catalog import ModelCatalog
from shop.catalog import ShopCatalog

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_adapter(settings) -> ModelCatalog:
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "CATALOG_ADAPTER": "recommendations.catalog.ModelCatalog",
        "PRODUCT_MODEL": "shop.Product",
    }
    return ModelCatalog()


def test_the_default_adapter_reads_the_mapped_stock_field(default_adapter, make_product):
    mug = make_product("Mug", stock=7)
    gone = make_product("Gone", stock=0)
    levels = default_adapter.stock_levels([str(mug.pk), str(gone.pk), "999999", "abc"])
    assert levels == {str(mug.pk): 7, str(gone.pk): 0}
    assert default_adapter.costs([str(mug.pk)]) == {}
    assert default_adapter.restock_lead_days([str(mug.pk)]) == {}


def test_a_boolean_stock_says_nothing_about_days_left(default_adapter, settings, make_product):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRODUCT_FIELDS": {"stock": None}}
    mug = make_product("Mug", stock=7)
    assert default_adapter.stock_levels([str(mug.pk)]) == {str(mug.pk): None}


def test_the_default_adapter_does_not_set_prices(default_adapter, make_product):
    mug = make_product("Mug")
    with pytest.raises(NotImplementedError, match="does not implement set_price"):
        default_adapter.set_price(str(mug.pk), Decimal("1.00"))
    mug.refresh_from_db()
    assert mug.price == Decimal("10.00")


def test_the_demo_store_sets_prices(make_product):
    mug = make_product("Mug")
    ShopCatalog().set_price(str(mug.pk), Decimal("12.50"))
    mug.refresh_from_db()
    assert mug.price == Decimal("12.50")
    assert ShopCatalog().stock_levels([str(mug.pk)]) == {str(mug.pk): 10}
