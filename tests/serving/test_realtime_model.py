"""The for-you slot folds a visitor's fresh views into the active model, before any retraining."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from recommendations import registry
from recommendations.models import Event, EventKind
from recommendations.serving.models import active_models
from recommendations.serving.pipeline import Audience, recommend
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver
from recommendations.training import train
from recommendations.types import ReasonKind, Slot
from shop.models import Category, Product

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _models_in_tmp(settings, tmp_path):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "ARTIFACT_DIR": str(tmp_path / "models"),
        "TRAINING_TIME_BUDGET": 60.0,
        "TRAINING_DEVICE": "cpu",
        "MAX_CATEGORY_SHARE": 1.0,
    }
    registry.clear_cache()
    active_models.clear()
    yield
    active_models.clear()


def two_taste_store(users: int = 80) -> tuple[list[str], list[str]]:
    """Two groups of shoppers who each browse and buy only one half of the catalogue."""
    category = Category.objects.create(name="All", slug="all")
    products = [
        str(
            Product.objects.create(
                sku=f"P{i}", title=f"Thing {i}", category=category, price=Decimal(5), stock=9
            ).pk
        )
        for i in range(30)
    ]
    halves = products[:15], products[15:]
    rng = np.random.default_rng(0)
    start = timezone.now() - timedelta(days=20)
    events = []
    for user in range(users):
        half = halves[user % 2]
        for k, item in enumerate(rng.choice(half, size=8, replace=False)):
            when = start + timedelta(hours=user + k)
            events.append(Event(visitor_id=f"v{user}", item_id=item, kind=EventKind.VIEW, ts=when))
            events.append(
                Event(
                    visitor_id=f"v{user}",
                    item_id=item,
                    kind=EventKind.PURCHASE,
                    value=1,
                    ts=when,
                    context={"order": f"{user}-{k // 3}", "price": "5"},
                )
            )
    Event.objects.bulk_create(events)
    return halves


def test_a_new_visitors_views_are_folded_into_the_active_model(drain):
    first_half, second_half = two_taste_store()
    result = train("full")
    assert registry.active_version("for_you") is not None, result

    deliver(
        [
            EventRecord(kind=int(EventKind.VIEW), item_id=i, visitor_id="newcomer")
            for i in second_half[:3]
        ]
    )
    drain()  # services mode: through the stream into the live state
    recommended = recommend(Slot.FOR_YOU, Audience(visitor_id="newcomer"), limit=6)
    personalised = [r for r in recommended if r.reason.kind is ReasonKind.PERSONALISED]
    assert personalised, [r.reason for r in recommended]
    assert all(r.item.item_id in second_half[3:] for r in personalised)
    assert any(source.startswith("model-") for source in recommended.sources)
    assert not set(first_half) & {r.item.item_id for r in recommended.items[:3]}
