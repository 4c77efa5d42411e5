"""While the shared cache's Redis is away, a shared slot fragment is kept by the process: a
product page does not compute its lists again for every visitor during an outage."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from recommendations import redis_client
from recommendations.serving.rendering import fallback_fragments, render_slot

from .conftest import ids

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _page(rf: RequestFactory, item: str) -> str:
    request = rf.get(f"/products/{item}/")
    request.user = AnonymousUser()
    request.session = {}
    return str(render_slot(request, "similar", item_id=item, limit=3))


def _items(html: str) -> list[str]:
    return re.findall(r'data-rec-item="([^"]+)"', html)


def test_a_shared_fragment_is_kept_by_the_process_while_redis_is_away(catalogue, rf):
    kitchen = ids(catalogue["Kitchen"])
    fallback_fragments.clear()
    redis_client.mark_down()
    try:
        first = _page(rf, kitchen[0])
        assert len(_items(first)) == 3
        with CaptureQueriesContext(connection) as again:
            second = _page(rf, kitchen[0])
        assert _items(second) == _items(first)
        assert len(again.captured_queries) == 0
    finally:
        redis_client.reset()
        fallback_fragments.clear()
    # Redis back: the process's copy is not used, the shared cache is.
    with CaptureQueriesContext(connection) as after:
        _page(rf, kitchen[0])
    assert len(after.captured_queries) > 0
