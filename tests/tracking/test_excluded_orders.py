"""Cancelled and refunded orders: the shop's adapter names them, and training leaves them out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from recommendations import registry, training
from recommendations.models import Event, EventKind
from recommendations.training import latest_state
from shop.catalog import ShopCatalog
from shop.models import Order

pytestmark = pytest.mark.django_db


def _order(number: str, status: str, user=None) -> Order:
    return Order.objects.create(number=number, status=status, user=user, total=Decimal("9.50"))


def test_the_shop_excludes_its_cancelled_and_refunded_orders():
    paid = _order("A1", Order.Status.PAID)
    cancelled = _order("A2", Order.Status.CANCELLED)
    refunded = _order("A3", Order.Status.REFUNDED)
    _order("A4", Order.Status.DECLINED)
    assert ShopCatalog().excluded_orders() == {str(cancelled.pk), str(refunded.pk)}
    assert str(paid.pk) not in training.excluded_orders()
    assert training.excluded_orders() == {str(cancelled.pk), str(refunded.pk)}


def test_training_does_not_learn_from_excluded_orders(settings, tmp_path, products):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "ARTIFACT_DIR": str(tmp_path / "models"),
        "TRAINING_DEVICE": "cpu",
    }
    registry.clear_cache()
    user = get_user_model().objects.create_user("ann")
    kept, refunded, cancelled = products[:3]
    orders = {
        kept: _order("B1", Order.Status.PAID, user),
        refunded: _order("B2", Order.Status.REFUNDED, user),
        cancelled: _order("B3", Order.Status.CANCELLED, user),
    }
    # As the order_placed receiver records them: the order's pk in the context.
    Event.objects.bulk_create(
        Event(
            visitor_id="visitor-ann",
            user=user,
            item_id=str(product.pk),
            kind=EventKind.PURCHASE,
            value=1,
            context={"order": order.pk, "price": "9.50"},
        )
        for product, order in orders.items()
    )
    training.train("full")
    _, state = latest_state()
    assert set(state.item_keys[state.pair_items].tolist()) == {str(kept.pk)}
    assert set(state.order_keys[state.line_orders].tolist()) == {str(orders[kept].pk)}
    registry.clear_cache()
