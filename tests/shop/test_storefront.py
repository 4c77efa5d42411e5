"""Browsing: the pages a shopper sees, what they list and what they hide."""

from __future__ import annotations

import pytest
from django.urls import reverse

from .factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    garden = CategoryFactory(name="Garden", slug="garden")
    return {
        "teapot": ProductFactory(title="Sage Enamel Teapot", category=kitchen),
        "mug": ProductFactory(title="Retro Mustard Mug", category=kitchen, stock=0),
        "hidden": ProductFactory(title="Discontinued Butter Dish", category=kitchen, active=False),
        "can": ProductFactory(title="Galvanised Watering Can", category=garden, brand="Greenshed"),
    }


def test_home_lists_categories_and_new_products(client, catalogue):
    response = client.get(reverse("shop:home"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Kitchen", "Garden", "Sage Enamel Teapot", "Galvanised Watering Can"):
        assert text in html
    assert "Discontinued Butter Dish" not in html


def test_category_page_lists_its_visible_products_only(client, catalogue):
    response = client.get(reverse("shop:category", kwargs={"slug": "kitchen"}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sage Enamel Teapot" in html and "Retro Mustard Mug" in html
    assert "Galvanised Watering Can" not in html
    assert "Discontinued Butter Dish" not in html


def test_category_pages_paginate(client):
    category = CategoryFactory(slug="many")
    ProductFactory.create_batch(30, category=category)
    first = client.get(reverse("shop:category", kwargs={"slug": "many"}))
    second = client.get(reverse("shop:category", kwargs={"slug": "many"}), {"page": 2})
    assert len(first.context["page_obj"].object_list) == 24
    assert len(second.context["page_obj"].object_list) == 6
    assert "Page 2 of 2" in second.content.decode()


def test_category_sort_by_price(client):
    category = CategoryFactory(slug="sorted")
    for price in ("30.00", "10.00", "20.00"):
        ProductFactory(category=category, price=price)
    response = client.get(reverse("shop:category", kwargs={"slug": "sorted"}), {"sort": "-price"})
    prices = [str(p.price) for p in response.context["page_obj"].object_list]
    assert prices == ["30.00", "20.00", "10.00"]


def test_unknown_category_is_404(client):
    assert client.get(reverse("shop:category", kwargs={"slug": "nope"})).status_code == 404


def test_search_matches_title_and_brand_but_not_hidden_products(client, catalogue):
    by_title = client.get(reverse("shop:search"), {"q": "teapot"}).content.decode()
    assert "Sage Enamel Teapot" in by_title and "Watering Can" not in by_title
    by_brand = client.get(reverse("shop:search"), {"q": "greenshed"}).content.decode()
    assert "Galvanised Watering Can" in by_brand
    hidden = client.get(reverse("shop:search"), {"q": "butter dish"}).content.decode()
    assert "Discontinued Butter Dish" not in hidden and "0 products found" in hidden


def test_empty_search_asks_for_words(client, catalogue):
    response = client.get(reverse("shop:search"))
    assert response.status_code == 200
    assert "Type a product name" in response.content.decode()


def test_product_page_shows_details_and_add_to_cart(client, catalogue):
    teapot = catalogue["teapot"]
    response = client.get(teapot.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sage Enamel Teapot" in html and "£12.50" in html and "Kitchen" in html
    assert reverse("shop:cart_add", kwargs={"pk": teapot.pk}) in html
    assert "<svg" in html  # the placeholder picture is inline


def test_product_url_is_what_the_tracking_middleware_expects(catalogue):
    teapot = catalogue["teapot"]
    assert teapot.get_absolute_url() == f"/products/{teapot.pk}/"
    assert reverse("shop:product_detail", kwargs={"pk": teapot.pk}) == f"/products/{teapot.pk}/"


def test_inactive_product_is_404(client, catalogue):
    assert client.get(catalogue["hidden"].get_absolute_url()).status_code == 404


def test_out_of_stock_product_shows_but_cannot_be_added(client, catalogue):
    mug = catalogue["mug"]
    page = client.get(mug.get_absolute_url()).content.decode()
    assert "out of stock" in page
    assert reverse("shop:cart_add", kwargs={"pk": mug.pk}) not in page
    response = client.post(reverse("shop:cart_add", kwargs={"pk": mug.pk}), {"quantity": 1})
    assert response.status_code == 302
    assert client.get(reverse("shop:cart")).context["cart_count"] == 0


def test_header_has_navigation_and_account_links(client, catalogue):
    html = client.get(reverse("shop:home")).content.decode()
    for url in (
        reverse("shop:search"),
        reverse("shop:cart"),
        reverse("shop:login"),
        reverse("shop:signup"),
        reverse("shop:category", kwargs={"slug": "garden"}),
    ):
        assert f'href="{url}"' in html or f'action="{url}"' in html


def test_every_page_loads_the_recommendations_beacon(client, catalogue):
    for url in (reverse("shop:home"), catalogue["teapot"].get_absolute_url()):
        assert "recommendations/beacon.js" in client.get(url).content.decode()
