"""Hostile or odd query parameters on the recommendations endpoint get a 4xx, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

URL = "/recommendations/api/recommendations/{}/"


@pytest.mark.parametrize("slot", ["similar", "bought-together", "trending", "for-you"])
@pytest.mark.parametrize(
    "item",
    ["\u00b2", "\u0663", "\u00bd", "1\u00b2", "-1", "1e3", "0x1", "\ufeff1", "9" * 40, "x" * 64],
)
def test_non_key_item_is_400_naming_the_parameter(client: Client, catalogue, slot: str, item: str):
    response = client.get(URL.format(slot), {"item": item})
    assert response.status_code == 400, response.content
    assert "item" in response.json()


@pytest.mark.parametrize("query", ["item=%ED%A0%80", "item=%F0%80%80", "item=%00", "item=1%002"])
def test_undecodable_or_nul_item_is_400(client: Client, catalogue, query: str):
    response = client.get(URL.format("similar") + "?" + query)
    assert response.status_code == 400, response.content
    assert "item" in response.json()
