"""What the campaign tests share: campaigns, segments with members, visitors' browsers."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from recommendations import caches
from recommendations.marketing.campaigns.holdout import Arm, arm_of
from recommendations.models import Campaign, Event, EventKind, Segment, SegmentMember
from recommendations.tracking.identity import _SALT
from shop.models import Category, Product

COOKIE = "recommendations_visitor"
#: Tracking counts unknown agents as they are; the tests are a shopper's browser.
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
TOKEN = re.compile(r'data-rec-token="(campaign\.[^"]+)"')


def visitor_id(n: int | str) -> str:
    """A valid visitor id (32 alphanumerics), distinct per ``n``."""
    return uuid.uuid5(uuid.NAMESPACE_OID, f"visitor-{n}").hex


def visitor_client(visitor: str, **headers: str) -> Client:
    """A browser carrying ``visitor``'s signed cookie."""
    carrier = HttpResponse()
    carrier.set_signed_cookie(COOKIE, visitor, salt=_SALT)
    client = Client(HTTP_USER_AGENT=BROWSER, **headers)
    client.cookies[COOKIE] = carrier.cookies[COOKIE].value
    return client


def segment(key: str, *members: str) -> Segment:
    """An active segment whose members are these visitor ids (``v:`` keys) or user keys."""
    seg = Segment.objects.create(key=key, name=key.replace("-", " ").title())
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(
                segment=seg,
                member=m if m.isdigit() else f"v:{m}",
                visitor_id="" if m.isdigit() else m,
                user_id=int(m) if m.isdigit() else None,
                entered_at=timezone.now(),
            )
            for m in members
        ]
    )
    return seg


def campaign(key: str, *segments: Segment, **fields: Any) -> Campaign:
    """A running banner campaign (no holdout unless asked), aimed at ``segments``."""
    values: dict[str, Any] = {
        "name": key.replace("-", " ").title(),
        "content": "banner",
        "headline": f"{key} headline",
        "link_url": f"/sale/{key}/",
        "starts_at": timezone.now() - timedelta(hours=1),
        "holdout_percent": 0.0,
        **fields,
    }
    made = Campaign.objects.create(key=key, **values)
    made.segments.set(segments)
    return made


def shown_visitor(key: str, percent: float, start: int = 0) -> str:
    """A visitor in the shown arm of campaign ``key``."""
    return next(
        v
        for n in range(start, start + 1000)
        if arm_of(key, v := visitor_id(n), percent) is Arm.SHOWN
    )


def holdout_visitor(key: str, percent: float) -> str:
    return next(v for n in range(1000) if arm_of(key, v := visitor_id(n), percent) is Arm.HOLDOUT)


def products(count: int = 4) -> list[Product]:
    category = Category.objects.create(name="Kitchen", slug="kitchen")
    return [
        Product.objects.create(
            sku=f"K{i}",
            title=f"Kettle {i}",
            slug=f"kettle-{i}",
            category=category,
            price=Decimal("10.00") + i,
            stock=5,
        )
        for i in range(count)
    ]


def exposures(key: str | None = None) -> list[tuple[str, str, str]]:
    """Stored exposure events as (visitor, campaign, arm)."""
    rows = Event.objects.filter(kind=EventKind.EXPOSURE, context__has_key="campaign")
    found = [
        (e.visitor_id, e.context["campaign"], e.context["arm"]) for e in rows.order_by("ts", "pk")
    ]
    return [row for row in found if key is None or row[1] == key]


URL = "/recommendations/api/campaign/"


@pytest.fixture(autouse=True)
def _fresh_campaign_caches():
    """No test sees another's campaign list, counters or remembered exposures."""
    cache.clear()
    caches.invalidate()
    yield
    cache.clear()
    caches.invalidate()


def shown_key(client: Client, **params: Any) -> str | None:
    """The key of the campaign the API shows this browser now, or None."""
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    body = response.json()["campaign"]
    return None if body is None else body["key"]
