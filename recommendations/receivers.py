"""Receivers that turn the store's signals into events; connected in ``AppConfig.ready()``."""

from __future__ import annotations

import gc
import logging
import os
from decimal import Decimal
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.signals import request_finished
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest

from .catalog import get_catalog
from .fraud.attempts import record_attempt
from .models import Event, EventKind, VisitorLink
from .signals import (
    cart_item_added,
    cart_item_removed,
    events_stored,
    model_promoted,
    order_placed,
    payment_failed,
    training_state_saved,
)
from .suppression import suppressed_user_keys
from .tasks import precompute_lists, refresh_content_neighbours, score_orders
from .tracking.api import build_record, track
from .tracking.identity import cross_site_reason, identity_for
from .tracking.records import EventRecord
from .tracking.sinks import emit

logger = logging.getLogger("recommendations.fraud")

#: The process that froze its objects (a forked worker starts its own count).
_frozen_in: int | None = None


@receiver(request_finished, dispatch_uid="recommendations.freeze_settled_objects")
def freeze_settled_objects(**kwargs: Any) -> None:
    """Once per process, after its first response has been sent: collect, then move what is
    left (imported code, URL patterns, compiled templates, loaded models: about 190,000
    objects) out of the garbage collector's way with :func:`gc.freeze`. Otherwise each full
    collection walks them all, 0.1 to 0.3 s during which the process serves nothing; a
    fallback that keeps new objects (popularity copies, catalogue descriptions while Redis is
    away) triggers such collections, and a request pays them."""
    global _frozen_in
    if _frozen_in == os.getpid():
        return
    _frozen_in = os.getpid()
    gc.collect()
    gc.freeze()


@receiver(cart_item_added, dispatch_uid="recommendations.cart_item_added")
def record_cart_addition(
    sender: Any, request: HttpRequest, item_id: str, quantity: int = 1, **kwargs: Any
) -> None:
    track(request, EventKind.ADD_TO_CART, item_id, value=quantity)


@receiver(cart_item_removed, dispatch_uid="recommendations.cart_item_removed")
def record_cart_removal(
    sender: Any, request: HttpRequest, item_id: str, quantity: int = 1, **kwargs: Any
) -> None:
    track(request, EventKind.REMOVE_FROM_CART, item_id, value=quantity)


@receiver(order_placed, dispatch_uid="recommendations.order_placed")
def record_purchases(
    sender: Any,
    request: HttpRequest | None,
    order_id: Any,
    lines: list[tuple[str, int, Decimal]],
    user: Any = None,
    email: str = "",
    shipping_address: str = "",
    card_fingerprint: str = "",
    total: Decimal | None = None,
    **kwargs: Any,
) -> None:
    """One purchase event per order line, delivered after the order's transaction commits, and
    the order's checkout attempt for fraud scoring (written in the same commit)."""
    user_id = user.pk if user is not None else None
    attempt: dict[str, Any] = {
        "approved": True,
        "order_id": str(order_id),
        "user_id": user_id,
        "visitor_id": _known_visitor(request),
        "email": email,
        "shipping_address": shipping_address,
        "card_fingerprint": card_fingerprint,
        "amount": total if total is not None else sum(Decimal(q) * p for _, q, p in lines),
    }
    transaction.on_commit(lambda: record_attempt(**attempt), robust=True)
    records: list[EventRecord] = []
    for item_id, quantity, unit_price in lines:
        context = {
            "order": order_id if isinstance(order_id, int) else str(order_id),
            "price": str(unit_price),
        }
        if request is not None:
            record = build_record(
                request,
                EventKind.PURCHASE,
                item_id,
                value=quantity,
                context=context,
                user_id=user_id,
            )
        else:
            record = EventRecord(
                kind=int(EventKind.PURCHASE),
                item_id=str(item_id),
                visitor_id=f"user-{user_id}" if user_id else f"order-{order_id}",
                user_id=user_id,
                value=quantity,
                context=context,
            )
        if record is not None:
            records.append(record)
    emit(records)


@receiver(payment_failed, dispatch_uid="recommendations.payment_failed")
def record_failed_payment(
    sender: Any,
    request: HttpRequest | None,
    user: Any = None,
    email: str = "",
    shipping_address: str = "",
    card_fingerprint: str = "",
    amount: Decimal | None = None,
    **kwargs: Any,
) -> None:
    """A refused payment, stored at once. Send it outside any transaction the refusal rolls back
    (else the attempt is rolled back with it)."""
    record_attempt(
        approved=False,
        user_id=user.pk if user is not None else None,
        visitor_id=_known_visitor(request),
        email=email,
        shipping_address=shipping_address,
        card_fingerprint=card_fingerprint,
        amount=amount,
    )


def _known_visitor(request: HttpRequest | None) -> str:
    """The request's visitor id when the visitor may be tracked, else ""."""
    if request is None:
        return ""
    identity = identity_for(request)
    return identity.visitor_id if identity.allowed else ""


@receiver(events_stored, dispatch_uid="recommendations.score_stored_orders")
def score_stored_orders(sender: Any, records: list[EventRecord], **kwargs: Any) -> None:
    """Queue risk scoring of the orders whose purchase events were just stored: off the request
    path (the ingest consumer's process; eager in embedded mode). Scoring that fails is logged,
    never lets the events' storing fail."""
    started: dict[str, float] = {}
    for record in records:
        order = record.context.get("order") if record.kind == EventKind.PURCHASE else None
        if order is None or order == "":
            continue
        key = str(order)
        started[key] = min(started.get(key, record.ts.timestamp()), record.ts.timestamp())
    if not started:
        return
    try:
        score_orders.delay(sorted(started), min(started.values()))
    except Exception:
        logger.exception("Risk scoring of %d order(s) could not be queued", len(started))


@receiver(user_logged_in, dispatch_uid="recommendations.stitch_visitor")
def stitch_visitor(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Attribute the visitor's anonymous history, stored and still in flight, to the user.

    Not when the login itself was started from another site's page (a forged login into someone
    else's account would hand them this browser's history): the history stays anonymous.
    """
    if request is None or cross_site_reason(request) is not None:
        return
    identity = identity_for(request)
    if not identity.allowed:
        return
    visitor_id = identity.visitor_id

    def link() -> None:
        if suppressed_user_keys([str(user.pk), f"v:{visitor_id}"]):
            return  # an erased person signing in again is not tracked, nor linked
        VisitorLink.objects.update_or_create(visitor_id=visitor_id, defaults={"user": user})
        Event.objects.filter(visitor_id=visitor_id, user__isnull=True).update(user=user)

    transaction.on_commit(link, robust=True)


@receiver(user_logged_out, dispatch_uid="recommendations.new_visitor_at_logout")
def new_visitor_at_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    """After logout the browser is a new visitor, so the next person is not attributed to the user."""
    if request is not None:
        identity_for(request).start_new_visitor()


@receiver(training_state_saved, dispatch_uid="recommendations.also_viewed_after_training")
def also_viewed_after_training(sender: Any, run: Any, state: Any, **kwargs: Any) -> None:
    """Also-viewed lists come from the state's view pairs, not from a model: written by every
    run, in the training process."""
    from .precompute import refresh_also_viewed

    refresh_also_viewed((run, state))


@receiver(model_promoted, dispatch_uid="recommendations.precompute_after_promotion")
def precompute_after_promotion(sender: Any, version: Any, **kwargs: Any) -> None:
    """Write the promoted version's lists to the store (a Celery task; eager in embedded mode)."""
    precompute_lists.delay(version.pk)


class _ContentBatch:
    """The products saved in one transaction, sent to one content-neighbours task on commit."""

    def __init__(self, item_id: str) -> None:
        self.ids = {item_id}
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        refresh_content_neighbours.delay(sorted(self.ids))


def queue_content_neighbours(
    sender: Any, instance: Any, raw: bool = False, using: str | None = None, **kwargs: Any
) -> None:
    """Give a saved product content neighbours in the similar slot, once the save commits.

    Connected to the product model's ``post_save`` in ``AppConfig.ready()``; fixture loads
    (``raw``) are skipped. The task reads the whole catalogue once however many ids it gets, so
    the products saved in one transaction join the batch already waiting for its commit; a
    rollback drops the batch with the transaction's other callbacks. ``robust``: a broker that is
    down never fails the save.
    """
    if raw:
        return
    item_id = str(getattr(instance, get_catalog().key_field))
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
            if isinstance(entry[1], _ContentBatch) and not entry[1].sent:
                entry[1].ids.add(item_id)
                return
    transaction.on_commit(_ContentBatch(item_id), using=using, robust=True)
