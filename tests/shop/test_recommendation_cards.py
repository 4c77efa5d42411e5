"""The demo's recommendation cards: each distinct card is rendered once per process, so what a
card shows must be all of its key: a changed price or stock shows on the next page."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from .factories import ProductFactory

# Views are stored after the request's transaction commits.
pytestmark = pytest.mark.django_db(transaction=True)

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


@pytest.fixture
def shopper() -> Client:
    # A browser's agent (a crawler's views are not tracked), and CSRF checked as in production.
    return Client(enforce_csrf_checks=True, HTTP_USER_AGENT=BROWSER)


def card(html: str, product) -> str:
    """The recommendation card of ``product`` on the page."""
    return html.split(f'data-rec-item="{product.pk}"', 1)[1].split("</li>", 1)[0]


def test_a_card_shows_the_current_price_and_stock(shopper):
    teapot, kettle = ProductFactory.create_batch(2, price=Decimal("12.00"), stock=4)
    shopper.get(teapot.get_absolute_url())  # the teapot is trending now
    shown = card(shopper.get(kettle.get_absolute_url()).content.decode(), teapot)
    assert "£12.00" in shown and "Add to cart" in shown

    teapot.price, teapot.stock = Decimal("9.50"), 0
    teapot.save()
    cache.clear()  # the page's fragments expired
    sold_out = shopper.get(kettle.get_absolute_url()).content.decode()
    assert f'data-rec-item="{teapot.pk}"' not in sold_out  # sold out: not recommended

    teapot.stock = 3
    teapot.save()
    cache.clear()
    shown = card(shopper.get(kettle.get_absolute_url()).content.decode(), teapot)
    assert "£9.50" in shown and "£12.00" not in shown and "Add to cart" in shown


def test_the_card_form_carries_this_requests_csrf_token(shopper):
    teapot, kettle = ProductFactory.create_batch(2, stock=4)
    shopper.get(teapot.get_absolute_url())
    for _ in range(2):  # rendered, then the same card again
        shown = card(shopper.get(kettle.get_absolute_url()).content.decode(), teapot)
        (token,) = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', shown)
        assert len(token) == 64  # a masked token, not the fragment's placeholder
    added = shopper.post(f"/cart/add/{teapot.pk}/", {"csrfmiddlewaretoken": token, "quantity": 1})
    assert added.status_code == 302
