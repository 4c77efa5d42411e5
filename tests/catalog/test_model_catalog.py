"""The default adapter over the demo's Product, configured by PRODUCT_FIELDS alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from recommendations.catalog import ItemInfo, ModelCatalog
from shop.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(settings):
    """A fresh default adapter over shop.Product; ``configure(mapping)`` sets PRODUCT_FIELDS."""
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "CATALOG_ADAPTER": "recommendations.catalog.ModelCatalog",
        "PRODUCT_MODEL": "shop.Product",
    }

    class Configured(ModelCatalog):
        def configure(self, mapping, model="shop.Product"):
            settings.RECOMMENDATIONS = {
                **settings.RECOMMENDATIONS,
                "PRODUCT_MODEL": model,
                "PRODUCT_FIELDS": mapping,
            }
            return self

    return Configured()


@pytest.fixture
def products() -> dict[str, Product]:
    kitchen = Category.objects.create(name="Kitchen", slug="kitchen")
    garden = Category.objects.create(name="Garden", slug="garden")

    def make(sku: str, category: Category, **fields) -> Product:
        return Product.objects.create(
            sku=sku, title=f"Product {sku}", slug=sku.lower(), category=category, price=9, **fields
        )

    return {
        "kettle": make("K1", kitchen, brand="Acme", stock=4),
        "sold_out": make("K2", kitchen, stock=0),
        "hidden": make("K3", kitchen, stock=4, active=False),
        "spade": make("G1", garden, stock=1),
    }


def test_usual_field_names_need_no_mapping(catalog, products):
    kettle = products["kettle"]
    infos = catalog.configure({}).describe([str(p.pk) for p in products.values()] + ["nope"])
    assert infos[str(kettle.pk)] == ItemInfo(
        item_id=str(kettle.pk),
        title="Product K1",
        category="Kitchen",
        brand="Acme",
        price=Decimal("9.00"),
        in_stock=True,
        active=True,
        url=kettle.get_absolute_url(),
    )
    assert infos[str(products["sold_out"].pk)].in_stock is False
    assert infos[str(products["hidden"].pk)].active is False
    assert len(infos) == 4


def test_describe_is_one_query_with_a_method_mapped_or_not(
    catalog, products, django_assert_num_queries
):
    keys = [str(p.pk) for p in products.values()]
    with django_assert_num_queries(1):
        by_instances = catalog.configure({"category": "category__name"}).describe(keys)
    with django_assert_num_queries(1):
        by_values = catalog.configure({"url": None}).describe(keys)
    assert {k: i.category for k, i in by_instances.items()} == {
        k: i.category for k, i in by_values.items()
    }
    assert by_values[keys[0]].url == ""


def test_none_unmaps_and_a_boolean_can_be_the_stock(catalog, products):
    hidden = str(products["hidden"].pk)
    info = catalog.configure({"active": None, "stock": "active"}).describe([hidden])[hidden]
    assert (info.active, info.in_stock) == (True, False)


def test_fallback_skips_unavailable_products_and_prefers_the_category(catalog, products):
    fallback = catalog.configure({}).fallback_ids(10, category="Garden")
    assert fallback == [str(products["spade"].pk), str(products["kettle"].pk)]


def test_a_model_without_such_fields_keeps_the_old_defaults(catalog, products):
    """Category has a name and a URL but no stock or visibility: always available."""
    kitchen = Category.objects.get(name="Kitchen")
    info = catalog.configure({}, model="shop.Category").describe([str(kitchen.pk)])[str(kitchen.pk)]
    assert (info.title, info.url, info.in_stock, info.active, info.category) == (
        "Kitchen",
        kitchen.get_absolute_url(),
        True,
        True,
        "",
    )
    assert len(catalog.fallback_ids(10)) == 2


def test_a_wrong_mapping_stops_the_adapter_with_the_checks_message(catalog, products):
    with pytest.raises(ImproperlyConfigured, match="has no field 'label'"):
        catalog.configure({"category": "category__label"}).describe([str(products["kettle"].pk)])
