"""A person with history in every store, and scanners that look for them afterwards.

The person is user 1000 (the first user of the generated training data, so training states,
models and a for-you list include them) with a browser cookie used before and after signing in,
plus a second visitor flagged in the quarantine.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from recommendations import redis_client, registry, suppression
from recommendations.models import QuarantinedVisitor, VisitorLink
from shop.models import Category, Product

from ..training.helpers import make_events

EVENTS_URL = "/recommendations/api/events/"
PERSON = 1000
COOKIE = "recommendations_visitor"


@pytest.fixture(autouse=True)
def _privacy_settings(settings, tmp_path):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "ARTIFACT_DIR": str(tmp_path / "models"),
        "TRAINING_TIME_BUDGET": 60.0,
        "TRAINING_DEVICE": "cpu",
        "BOT_BURST_LIMIT": None,
    }
    registry.clear_cache()
    suppression.clear_cache()
    cache.clear()
    yield
    registry.clear_cache()
    suppression.clear_cache()
    cache.clear()


def cookie_client(visitor_id: str, **kwargs: Any) -> Client:
    """A browser holding the signed visitor cookie of ``visitor_id``."""
    client = Client(**kwargs)
    carrier = HttpResponse()
    carrier.set_signed_cookie(COOKIE, visitor_id, salt="recommendations.visitor")
    client.cookies[COOKIE] = carrier.cookies[COOKIE].value
    return client


def post_events(client: Client, *events: tuple[str, str]) -> Any:
    body = {
        "events": [
            {"event_id": str(uuid.uuid4()), "kind": kind, "item_id": item} for kind, item in events
        ]
    }
    return client.post(EVENTS_URL, json.dumps(body), content_type="application/json")


@dataclass
class Person:
    user: Any
    visitor: str  # the browser cookie, used signed out and signed in
    flagged: str  # a visitor flagged for a burst while signed in
    products: list[Product]
    linked: list[str]  # every visitor linked to the user (force_login links one more)

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    @property
    def visitors(self) -> list[str]:
        return sorted({self.visitor, self.flagged, f"visitor-{PERSON}", *self.linked})

    def events(self) -> Any:
        """Their stored events: their user's, and their visitors' while signed out."""
        from django.db.models import Q

        from recommendations.models import Event

        return Event.objects.filter(
            Q(user_id=PERSON) | Q(visitor_id__in=self.visitors, user_id__isnull=True)
        )

    def patterns(self) -> re.Pattern[str]:
        """A reference to the person as the app writes one: ``user:1000`` / ``user-1000`` and
        each visitor id."""
        parts = [rf"user[:\-]{PERSON}(?!\d)", *(re.escape(v) + r"(?![\w-])" for v in self.visitors)]
        return re.compile("|".join(parts))

    def training_keys(self) -> set[str]:
        return {str(PERSON), *(f"v:{v}" for v in self.visitors)}


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
        for i in range(6)
    ]


@pytest.fixture
def person(products: list[Product], drain: Any) -> Person:
    """User 1000 with behaviour through every path: the middleware and the beacon, signed out and
    in (their cookie linked at login), a quarantine flag, and the generated training history."""
    user = get_user_model().objects.create_user(pk=PERSON, username="erin", password="x" * 12)
    visitor, flagged = uuid.uuid4().hex, uuid.uuid4().hex
    anonymous = cookie_client(visitor)
    anonymous.get(product_url(products[0]))
    post_events(anonymous, ("click", str(products[0].pk)))
    VisitorLink.objects.create(visitor_id=visitor, user=user)
    signed_in = cookie_client(visitor)
    signed_in.force_login(user)
    for _ in range(3):
        signed_in.get(product_url(products[1]))
        post_events(signed_in, ("add_to_cart", str(products[1].pk)), ("click", str(products[2].pk)))
    QuarantinedVisitor.objects.create(visitor_id=flagged, user=user)
    _checkout_and_marketing_rows(user, visitor)
    drain()
    make_events(visitors=3)
    linked = list(VisitorLink.objects.filter(user=user).values_list("visitor_id", flat=True))
    return Person(user=user, visitor=visitor, flagged=flagged, products=products, linked=linked)


def _checkout_and_marketing_rows(user: Any, visitor: str) -> None:
    """A refused payment, its risk assessment, a visitor assessment and a segment membership."""
    from django.utils import timezone

    from recommendations.fraud.attempts import record_attempt
    from recommendations.models import RiskAssessment, Segment, SegmentMember

    now = timezone.now()
    record_attempt(
        approved=False,
        user_id=user.pk,
        visitor_id=visitor,
        email="erin@example.com",
        shipping_address="3 Erin Lane",
        card_fingerprint="f" * 32,
        amount=Decimal("20.00"),
    )
    RiskAssessment.objects.create(
        subject="visitor",
        key=f"v:{visitor}",
        visitor_id=visitor,
        score=60,
        level="review",
        reasons=[{"rule": "failed_payments", "points": 60, "detail": "erin@example.com"}],
        status="open",
        scored_at=now,
    )
    segment = Segment.objects.create(key="lapsed", name="Lapsed buyers")
    SegmentMember.objects.create(
        segment=segment, member=str(user.pk), user=user, entered_at=now, reasons=["3 orders"]
    )


def others_browse(products: list[Product], drain: Any) -> str:
    """Another visitor's views and clicks, through the same paths."""
    other = uuid.uuid4().hex
    client = cookie_client(other)
    client.get(product_url(products[1]))
    client.get(product_url(products[3]))
    post_events(client, ("click", str(products[3].pk)))
    drain()
    return other


def product_url(product: Product) -> str:
    return reverse("shop:product_detail", kwargs={"pk": product.pk})


# --- Scanners ------------------------------------------------------------------------------------


def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every text, varchar and JSON column of the test database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type IN "
                "('text', 'character varying', 'character', 'json', 'jsonb')"
            )
            return list(cursor.fetchall())
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        found = []
        for (table,) in cursor.fetchall():
            cursor.execute(f'PRAGMA table_info("{table}")')
            for _, column, kind, *_ in cursor.fetchall():
                if any(t in kind.lower() for t in ("char", "text", "json", "clob")):
                    found.append((table, column))
        return found


def database_references(pattern: re.Pattern[str]) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')
            for (value,) in cursor.fetchall():
                text = value if isinstance(value, str) else json.dumps(value)
                if pattern.search(text):
                    found.append(f"{table}.{column}: {text[:120]}")
    return found


def redis_references(pattern: re.Pattern[str]) -> list[str]:
    """Every key of the test Redis database, its name and its value."""
    if not django_settings.SERVICES_MODE:
        return []
    client = redis_client.get_redis(timeout=5.0)
    found = []
    for raw in client.scan_iter("*", count=1000):
        name = raw.decode("latin-1")
        if pattern.search(name):
            found.append(f"key {name}")
        kind = client.type(raw).decode()
        if kind == "string":
            values = [client.get(raw) or b""]
        elif kind == "hash":
            values = [b for pair in client.hgetall(raw).items() for b in pair]
        elif kind == "zset":
            values = client.zrange(raw, 0, -1)
        elif kind == "list":
            values = client.lrange(raw, 0, -1)
        elif kind == "set":
            values = list(client.smembers(raw))
        elif kind == "stream":
            values = [b for _, fields in client.xrange(raw) for b in fields.values()]
            for payload in values:
                if re.search(rf"[\[,]{PERSON},".encode(), payload):
                    found.append(f"stream {name}: a record of user {PERSON}")
        else:
            values = []
        for value in values:
            if pattern.search(value.decode("latin-1")):
                found.append(f"value of {name}")
    return found


def artifact_files() -> Iterator[Path]:
    folder = Path(django_settings.RECOMMENDATIONS["ARTIFACT_DIR"])
    yield from sorted(folder.rglob("*.npz"))


def artifact_references(person: Person) -> list[str]:
    """Every training state and model artifact on disk: user-key arrays hold none of the
    person's keys (nor order keys their orders), and no string array holds a visitor id."""
    found = []
    visitor_keys = {*person.visitors, *(f"v:{v}" for v in person.visitors)}
    for path in artifact_files():
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                values = npz[name]
                if values.dtype.kind not in "US":
                    continue
                strings = set(values.astype(str).ravel().tolist())
                if (
                    name in {"user_keys", "user_map", "a_user_keys"}
                    and strings & person.training_keys()
                ):
                    found.append(f"{path.name}:{name}")
                elif name == "order_keys" and any(s.startswith(f"{PERSON}-") for s in strings):
                    found.append(f"{path.name}:{name} (their orders)")
                elif strings & visitor_keys:
                    found.append(f"{path.name}:{name} (a visitor id)")
    return found
