"""The API's throttles: on with a rate for their scope, off without one (the quick start sets none)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from recommendations.api.throttling import OptionalScopedRateThrottle

pytestmark = pytest.mark.django_db


def statuses(rates: dict[str, str], monkeypatch: pytest.MonkeyPatch, requests: int) -> list[int]:
    monkeypatch.setattr(OptionalScopedRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    client = Client()
    url = reverse("recommendations:recommendations", args=["trending"])
    return [client.get(url).status_code for _ in range(requests)]


def test_a_scope_with_a_rate_is_throttled(catalogue, monkeypatch):
    assert statuses({"recommendations": "2/min"}, monkeypatch, 3) == [200, 200, 429]


def test_a_scope_without_a_rate_is_not_throttled(catalogue, monkeypatch):
    assert statuses({}, monkeypatch, 3) == [200, 200, 200]
