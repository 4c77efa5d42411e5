"""One test per PRODUCT_FIELDS / PRODUCT_MODEL system check ID."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from recommendations.checks import check_product_fields

DEFAULT_ADAPTER = {
    "CATALOG_ADAPTER": "recommendations.catalog.ModelCatalog",
    "PRODUCT_MODEL": "shop.Product",
}


@pytest.fixture
def product_fields(settings):
    """Configure the default adapter over the demo's Product with ``PRODUCT_FIELDS = mapping``."""

    def configure(mapping: Any, **extra: Any) -> list[checks.CheckMessage]:
        settings.RECOMMENDATIONS = {
            **settings.RECOMMENDATIONS,
            **DEFAULT_ADAPTER,
            "PRODUCT_FIELDS": mapping,
            **extra,
        }
        return check_product_fields()

    return configure


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


def test_a_mapping_with_relations_dots_methods_and_none_passes(product_fields):
    mapping = {
        "title": "title",
        "category": "category.name",
        "brand": None,
        "stock": "stock",
        "active": "active",
        "url": "get_absolute_url",
    }
    assert product_fields(mapping) == []


def test_e005_not_a_dict(product_fields):
    (error,) = product_fields([("stock", "stock")])
    assert error.id == "recommendations.E005"


def test_e005_unknown_key(product_fields):
    (error,) = product_fields({"colour": "tags"})
    assert error.id == "recommendations.E005"
    assert "'colour'" in error.msg


def test_e006_no_such_field(product_fields):
    (error,) = product_fields({"category": "category__label"})
    assert error.id == "recommendations.E006"
    assert "shop.Category has no field 'label'" in error.msg


def test_e006_relation_instead_of_a_value(product_fields):
    (error,) = product_fields({"category": "category"})
    assert error.id == "recommendations.E006"
    assert "category__name" in error.hint


def test_e006_stock_may_not_be_a_method(product_fields):
    (error,) = product_fields({"stock": "in_stock"})  # a property of Product
    assert error.id == "recommendations.E006"
    assert "filtered in the database" in error.hint


def test_e007_stock_of_the_wrong_type(product_fields):
    (error,) = product_fields({"stock": "title"})
    assert error.id == "recommendations.E007"


def test_e007_active_of_the_wrong_type(product_fields):
    assert ids(product_fields({"active": "stock"})) == ["recommendations.E007"]


def test_e008_product_model_not_installed(product_fields):
    (error,) = product_fields({}, PRODUCT_MODEL="shop.Nothing")
    assert error.id == "recommendations.E008"
