"""Behaviour events: the one insert-only table everything downstream learns from."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class EventKind(models.IntegerChoices):
    """What happened. Stored as a small integer; the API speaks the lowercase names."""

    VIEW = 1, "view"
    ADD_TO_CART = 2, "add_to_cart"
    REMOVE_FROM_CART = 3, "remove_from_cart"
    PURCHASE = 4, "purchase"
    RATING = 5, "rating"
    REVIEW = 6, "review"
    IMPRESSION = 7, "impression"
    CLICK = 8, "click"
    SEARCH = 9, "search"
    #: A visitor was served a slot under an experiment's variant (server-side, never from the
    #: beacon; weighs nothing in training, see ``recommendations.experiments``).
    EXPOSURE = 10, "exposure"

    @classmethod
    def from_name(cls, name: str) -> EventKind:
        return _BY_NAME[name]

    @classmethod
    def names(cls) -> list[str]:
        return list(_BY_NAME)


_BY_NAME = {kind.label: kind for kind in EventKind}


class Event(models.Model):
    """One thing a visitor did with one item.

    ``item_id`` is the host's product key as opaque text (no foreign key): the table is insert-only,
    survives catalogue changes and is bulk-loaded by the ingest consumer. ``event_id`` is chosen by
    the producer, so that redelivered or resent events are stored once.
    """

    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    visitor_id = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )
    item_id = models.CharField(max_length=64, blank=True)
    kind = models.PositiveSmallIntegerField(choices=EventKind.choices)
    value = models.FloatField(null=True, blank=True)
    ts = models.DateTimeField(default=timezone.now, help_text="When the server received the event.")
    client_ts = models.DateTimeField(null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-ts"]
        indexes = [
            models.Index(fields=["ts"], name="rec_event_ts"),
            models.Index(fields=["user", "ts"], name="rec_event_user_ts"),
            models.Index(fields=["item_id", "ts"], name="rec_event_item_ts"),
            models.Index(fields=["kind", "ts"], name="rec_event_kind_ts"),
        ]
        # Seeing another user's list reveals what they looked at and bought: a grant of its
        # own, not something every staff account has (see the API's ``as_user``).
        permissions = [
            ("preview_as_user", "Can preview another user's recommendations (as_user)"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.item_id} by {self.user_id or self.visitor_id}"


class VisitorLink(models.Model):
    """A visitor cookie that has logged in as a user.

    Written at login; anonymous events of the visitor, past and still in flight, are attributed to
    the user through it.
    """

    visitor_id = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    linked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.visitor_id} -> {self.user_id}"


class Dashboard(Event):
    """No table of its own: the admin index's entry for the dashboard (a proxy model is how a
    page without a model of its own gets a place, and a permission, on the index)."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"
