"""Signals the app listens to and signals it sends.

Sent by the host store (the app's receivers turn them into events)
-----------------------------------------------------------------

``cart_item_added(sender, request, item_id, quantity)``
    A product was put into a cart. ``item_id`` is the product key as text.

``cart_item_removed(sender, request, item_id, quantity)``
    A product was taken out of a cart.

``order_placed(sender, request, order_id, user, lines)``
    An order was paid. ``lines`` is a list of ``(item_id, quantity, unit_price)``; each line
    becomes a purchase event once the surrounding transaction commits, so a rolled-back order
    records nothing. ``user`` may be None for a guest checkout.

Sent by the app
---------------

``events_stored(sender, count)``
    The ingest consumer (or the embedded sink) stored ``count`` new events.

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
"""

from django.dispatch import Signal

cart_item_added = Signal()
cart_item_removed = Signal()
order_placed = Signal()

events_stored = Signal()
event_dropped = Signal()
training_state_saved = Signal()
model_promoted = Signal()
