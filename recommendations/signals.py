"""Signals the app listens to and signals it sends.

Sent by the host store (the app's receivers turn them into events)
-----------------------------------------------------------------

``cart_item_added(sender, request, item_id, quantity)``
    A product was put into a cart. ``item_id`` is the product key as text.

``cart_item_removed(sender, request, item_id, quantity)``
    A product was taken out of a cart.

``order_placed(sender, request, order_id, user, lines, email="", shipping_address="", card_fingerprint="", total=None)``
    An order was paid. ``lines`` is a list of ``(item_id, quantity, unit_price)``; each line
    becomes a purchase event once the surrounding transaction commits, so a rolled-back order
    records nothing. ``user`` may be None for a guest checkout. The optional keyword arguments
    feed fraud scoring (a :class:`~recommendations.models.CheckoutAttempt`): the e-mail given
    at checkout, the shipping address as typed, a fingerprint of the card that the store computed
    (a keyed hash of its number, never the number itself) and the order's total.

``payment_failed(sender, request, user, email="", shipping_address="", card_fingerprint="", amount=None)``
    A payment was refused. Recorded as a failed checkout attempt (fraud's velocity rules count
    them); nothing else happens.

Sent by the app
---------------

``events_stored(sender, count, records)``
    The ingest consumer (or the embedded sink) stored ``count`` new events; ``records`` are
    their :class:`~recommendations.tracking.records.EventRecord`. Sent in the process that stored
    them, off the request path in services mode: a receiver must be quick (queue a task).

``event_dropped(sender, count, reason)``
    ``count`` events were accepted by a page but could be stored neither in Redis nor in the
    database. The request still succeeded; the events are lost and this is the only trace.

``training_state_saved(sender, run, state)``
    A training run saved the interaction history it trained on (``run``, a
    :class:`~recommendations.models.TrainingRun`, and its
    :class:`~recommendations.training.state.TrainingState`), before any promotion. The app's own
    receiver rewrites the also-viewed lists from it, which need no model.

``model_promoted(sender, version)``
    ``version`` (a :class:`~recommendations.models.ModelVersion`, ``sender`` its class) became the
    active version of its scenario, by passing the promotion gate after training or by a
    rollback. Sent after the transaction commits. The app's own receiver schedules the
    ``recommendations.precompute_lists`` task for it, which rewrites the scenario's stored lists.

``segment_entered(sender, segment, member, user_id, visitor_id, reasons)``
    A visitor became a member of ``segment`` (a :class:`~recommendations.models.Segment`) when
    its membership was recomputed by a Celery worker. ``member`` is ``"42"`` for user 42 or
    ``"v:<visitor id>"``; ``reasons`` says why, one sentence per condition. The app itself
    sends nothing to customers: connect this to send your own e-mail or webhook.

``segment_left(sender, segment, member, user_id, visitor_id)``
    A visitor stopped being a member of ``segment``.

``risk_flagged(sender, assessment)``
    An order or visitor was scored at or above ``RISK_REVIEW_SCORE`` and put up for review
    (``assessment``, a :class:`~recommendations.models.RiskAssessment`).

``order_held(sender, order_id, assessment)``
    An order scored at or above ``RISK_BLOCK_SCORE``: hold its fulfilment until staff have
    reviewed it. The app never acts on the customer; the store decides what holding means.

``risk_reviewed(sender, assessment)``
    Staff confirmed or dismissed ``assessment`` (its ``status``, ``decision_reason``, ``note``,
    ``reviewed_by`` and ``reviewed_at`` say how), sent once the decision is committed. A store
    that holds orders releases a dismissed one here.
"""

from django.dispatch import Signal

cart_item_added = Signal()
cart_item_removed = Signal()
order_placed = Signal()
payment_failed = Signal()

events_stored = Signal()
event_dropped = Signal()
training_state_saved = Signal()
model_promoted = Signal()
segment_entered = Signal()
segment_left = Signal()
risk_flagged = Signal()
order_held = Signal()
risk_reviewed = Signal()
