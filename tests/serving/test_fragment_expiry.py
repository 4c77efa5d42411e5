"""Fragments written together do not all expire together: each is kept for a random 75 to 100 % of
``TEMPLATE_CACHE_SECONDS``, so a store whose pages were all rendered in the same minute (a crawl,
a deploy) does not render them all again in the same second."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.template import Context, Template

from recommendations.stores import get_store

from .conftest import ids
from .test_page_exclusion import anonymous

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_fragments_rendered_together_get_different_lifetimes(rf, catalogue, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "TEMPLATE_CACHE_SECONDS": 400}
    products = [pk for rows in catalogue.values() for pk in ids(rows)]
    get_store().put_many({"trending": [(pk, 1.0) for pk in products]})
    template = Template('{% load recommendations %}{% recommendations "similar" item=pk limit=3 %}')
    for pk in products:
        assert "data-rec-item" in template.render(Context({"request": anonymous(rf), "pk": pk}))
    lifetimes = [cache.ttl(key) for key in cache.keys("recommendations:slot:*")]
    assert len(lifetimes) == len(products)  # one shared fragment per product page
    assert all(300 - 1 <= seconds <= 400 for seconds in lifetimes)
    assert len(set(lifetimes)) > len(products) // 2  # spread, not one expiry for all
