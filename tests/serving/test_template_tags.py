"""Template tags render slots with the beacon's data attributes; the demo pages use them."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from recommendations.stores import get_store

from .conftest import ids

pytestmark = pytest.mark.django_db


def render(source: str, request) -> str:
    return Template("{% load recommendations %}" + source).render(Context({"request": request}))


def test_slot_renders_items_with_tracking_attributes(catalogue, rf: RequestFactory):
    from django.contrib.auth.models import AnonymousUser

    kitchen = ids(catalogue["Kitchen"])
    get_store().put_many({f"item:{kitchen[0]}:similar": [(kitchen[1], 0.9)]})
    request = rf.get("/")
    request.user = AnonymousUser()
    request.session = {}
    html = render(
        f'{{% recommendations "similar" item="{kitchen[0]}" limit=3 title="You may also like" %}}',
        request,
    )
    assert "You may also like" in html
    assert html.count('data-rec-item="') == 3
    assert f'data-rec-item="{kitchen[1]}"' in html
    assert 'data-rec-slot="similar"' in html
    assert 'data-rec-token="similar.' in html


def test_beacon_tag_points_at_the_endpoint(rf):
    html = render("{% recommendations_beacon %}", rf.get("/"))
    assert 'data-endpoint="/recommendations/api/events/"' in html
    assert "recommendations/beacon.js" in html


def test_product_page_shows_similar_items(client, catalogue):
    kitchen = catalogue["Kitchen"]
    get_store().put_many({f"item:{kitchen[0].pk}:similar": [(str(kitchen[1].pk), 0.9)]})
    response = client.get(f"/products/{kitchen[0].pk}/")
    assert response.status_code == 200
    assert f'data-rec-item="{kitchen[1].pk}"'.encode() in response.content
