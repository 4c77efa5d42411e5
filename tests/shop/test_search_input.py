"""Odd search queries get a normal results page, never a 500 (PostgreSQL refuses NUL)."""

from __future__ import annotations

import pytest
from django.test import Client

from .factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query_string",
    ["q=%00", "q=tea%00pot", "q=%ED%A0%80", "q=%01%1F%7F", "q=" + "a%00" * 300, "q=%E2%80%A8tea"],
)
def test_control_characters_in_search_are_a_normal_page(client: Client, query_string: str) -> None:
    ProductFactory(title="Sage Enamel Teapot", category=CategoryFactory(name="Kitchen"))
    response = client.get(f"/search/?{query_string}")
    assert response.status_code == 200


def test_a_nul_splits_words_rather_than_hiding_results(client: Client) -> None:
    ProductFactory(title="Sage Enamel Teapot", category=CategoryFactory(name="Kitchen"))
    response = client.get("/search/?q=sage%00teapot")
    assert response.status_code == 200
    assert "Sage Enamel Teapot" in response.content.decode()
