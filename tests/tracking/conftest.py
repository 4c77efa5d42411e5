from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Category, Product

EVENTS_URL = "/recommendations/api/events/"


@pytest.fixture
def products(db: None) -> list[Product]:
    category = Category.objects.create(name="Kitchen", slug="kitchen")
    return [
        Product.objects.create(
            sku=f"SKU{i}",
            title=f"Teapot {i}",
            slug=f"teapot-{i}",
            category=category,
            price=Decimal("9.50"),
            stock=10,
        )
        for i in range(5)
    ]


def event(kind: str = "click", item_id: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"event_id": str(uuid.uuid4()), "kind": kind, **extra}
    if item_id is not None:
        data["item_id"] = item_id
    return data


def post_events(client: Client, events: list[dict[str, Any]] | Any, **headers: Any):
    body = json.dumps({"events": events} if isinstance(events, list) else events)
    return client.post(EVENTS_URL, body, content_type="application/json", **headers)


def product_url(product: Product) -> str:
    return reverse("shop:product_detail", kwargs={"pk": product.pk})
