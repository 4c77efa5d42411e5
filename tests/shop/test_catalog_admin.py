"""The catalogue adapter the recommendations app reads, and the admin staff use."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from recommendations.catalog import get_catalog
from shop.catalog import ShopCatalog

from .factories import CategoryFactory, OrderLineFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_settings_use_the_shop_catalogue():
    assert isinstance(get_catalog(), ShopCatalog)


def test_describe_fills_every_serving_field():
    category = CategoryFactory(name="Garden", slug="garden")
    can = ProductFactory(
        title="Watering Can", category=category, brand="Greenshed", price=Decimal("9.99"), stock=0
    )
    hidden = ProductFactory(active=False)
    info = ShopCatalog().describe([str(can.pk), str(hidden.pk), "999999"])
    assert set(info) == {str(can.pk), str(hidden.pk)}
    can_info = info[str(can.pk)]
    assert (can_info.title, can_info.category, can_info.brand) == (
        "Watering Can",
        "Garden",
        "Greenshed",
    )
    assert can_info.price == Decimal("9.99") and can_info.in_stock is False
    assert can_info.active is True and can_info.url == f"/products/{can.pk}/"
    assert info[str(hidden.pk)].active is False
    by_id = {item.item_id: item for item in ShopCatalog().all_items()}
    assert by_id[str(can.pk)].description == can.description  # training reads descriptions


def test_existing_ids_and_all_items():
    products = ProductFactory.create_batch(3)
    catalog = ShopCatalog()
    assert catalog.existing_ids([str(products[0].pk), "0"]) == {str(products[0].pk)}
    assert {item.item_id for item in catalog.all_items()} == {str(p.pk) for p in products}


@pytest.mark.parametrize("model", ["category", "product", "order", "orderline"])
def test_admin_lists_and_edit_pages_load(client, model):
    line = OrderLineFactory()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x-password-1"))
    objects = {
        "category": line.product.category,
        "product": line.product,
        "order": line.order,
        "orderline": line,
    }
    changelist = client.get(reverse(f"admin:shop_{model}_changelist"), {"q": "a"})
    assert changelist.status_code == 200
    change = client.get(reverse(f"admin:shop_{model}_change", args=[objects[model].pk]))
    assert change.status_code == 200
