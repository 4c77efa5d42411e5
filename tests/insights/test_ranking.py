"""Stock-aware ranking: bounded, never a sold-out item, nothing at all when off."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from recommendations.insights.ranking import bounded_order, rerank
from recommendations.models import ProductInsight, StockStatus
from recommendations.serving.pipeline import Audience, recommend
from recommendations.stores import get_store
from recommendations.types import Candidate, Reason, ReasonKind, Slot


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 25),
    bound=st.integers(0, 6),
    pulls=st.dictionaries(st.integers(0, 24), st.floats(-50, 50), max_size=25),
)
def test_no_item_moves_more_than_the_bound(size, bound, pulls):
    order = list(range(size))
    pull = {i: p for i, p in pulls.items() if i < size}
    ranked = bounded_order(order, pull, bound)
    assert sorted(ranked) == order
    assert all(abs(new - old) <= bound for new, old in enumerate(ranked))


def test_a_pulled_item_moves_as_far_as_the_bound_allows():
    assert bounded_order(list("abcdef"), {5: 10.0}, 2) == list("abcfde")
    assert bounded_order(list("abcdef"), {0: -10.0}, 2) == list("bcadef")
    assert bounded_order(list("abcdef"), {5: 10.0}, 0) == list("abcdef")


@pytest.fixture
def shelf(make_product):
    """Eight kitchen products, their similar list in order, and stored stock statuses."""
    products = [make_product(f"Thing {i}", stock=5) for i in range(8)]
    keys = [str(p.pk) for p in products]
    get_store().put_many(
        {f"item:{keys[0]}:similar": [(key, 1.0 - i / 10) for i, key in enumerate(keys[1:])]}
    )
    now = timezone.now()
    statuses = {
        keys[2]: (StockStatus.RUNNING_OUT, 3.0),
        keys[4]: (StockStatus.SOLD_OUT, 0.0),  # stored as sold out, the live stock says 5
        keys[7]: (StockStatus.OVERSTOCK, 300.0),
    }
    ProductInsight.objects.bulk_create(
        ProductInsight(item_id=key, title=key, computed_at=now, status=status, days_left=days)
        for key, (status, days) in statuses.items()
    )
    products[5].stock = 0  # sold out live
    products[5].save()
    return keys


def _served(keys, limit=6):
    result = recommend(Slot.SIMILAR, Audience(), item_id=keys[0], limit=limit, rules=[])
    return [r.item.item_id for r in result], {r.item.item_id: r.stock_note for r in result}


@pytest.fixture
def one_category(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "MAX_CATEGORY_SHARE": 1.0}


@pytest.mark.django_db
def test_off_by_default_the_list_is_untouched(shelf, one_category, django_assert_num_queries):
    served, notes = _served(shelf)
    assert served == [shelf[1], shelf[2], shelf[3], shelf[4], shelf[6], shelf[7]]
    assert set(notes.values()) == {""}
    chosen = [Candidate(key, 1.0, Reason(ReasonKind.SIMILAR), "similar") for key in shelf]
    with django_assert_num_queries(0):
        assert rerank(chosen, {}) == (chosen, {})


@pytest.mark.django_db
@pytest.mark.parametrize("bound", [1, 2, 3])
def test_on_it_nudges_within_the_bound_and_never_shows_a_sold_out_item(shelf, settings, bound):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "MAX_CATEGORY_SHARE": 1.0,
        "STOCK_AWARE_RANKING": True,
        "STOCK_RANKING_MAX_SHIFT": bound,
    }
    served, notes = _served(shelf, limit=7)
    assert shelf[5] not in served  # no stock left
    assert shelf[4] not in served  # the nightly run saw it sold out
    before = [shelf[1], shelf[2], shelf[3], shelf[6], shelf[7]]
    assert sorted(served) == sorted(before)
    assert all(abs(served.index(key) - before.index(key)) <= bound for key in served)
    # The overstocked last item rose by the bound; the one about to run out fell.
    assert before.index(shelf[7]) - served.index(shelf[7]) == min(bound, 4)
    assert served.index(shelf[2]) > before.index(shelf[2])
    assert notes[shelf[7]].startswith("Stock: overstock (43 weeks of demand), moved up")
    assert notes[shelf[2]].startswith("Stock: about to run out (3 days left), moved down")
    assert notes[shelf[1]] == ""


@pytest.mark.django_db
def test_the_preview_shows_why_stock_moved_an_item(shelf, settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "MAX_CATEGORY_SHARE": 1.0,
        "STOCK_AWARE_RANKING": True,
    }
    admin = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client = Client()
    client.force_login(admin)
    response = client.get(
        "/admin/recommendations/rule/preview/", {"visitor": "v-someone", "item": shelf[0]}
    )
    assert response.status_code == 200
    assert "Stock: overstock (43 weeks of demand), moved up 2" in response.content.decode()
