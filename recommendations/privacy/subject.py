"""Who a request is about: a user with all their visitor ids, or a bare visitor id.

Everything downstream keys the person differently (``user:42`` lists, ``recent:visitor:<id>``
keys, ``"42"`` and ``"v:<id>"`` in training states, order ids in bought-together data), so the
subject is resolved once, from the database, into every form each store uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from recommendations.models import Event, EventKind, QuarantinedVisitor, VisitorLink
from recommendations.suppression import user_digest, visitor_digest


@dataclass(frozen=True)
class Subject:
    """One person. ``visitor_ids`` includes the synthetic ``user-<id>`` visitor of orders placed
    without a request; ``order_ids`` are the orders of their purchase events (as text)."""

    user_id: int | None
    visitor_ids: tuple[str, ...]
    order_ids: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "user" if self.user_id is not None else "visitor"

    @property
    def digest(self) -> str:
        """The keyed hash that names the person in erase records (never the id in clear)."""
        if self.user_id is not None:
            return user_digest(self.user_id)
        return visitor_digest(self.visitor_ids[0])

    @property
    def digests(self) -> dict[str, str]:
        """Suppression digest → kind, for the user and each visitor id."""
        found = {visitor_digest(v): "visitor" for v in self.visitor_ids}
        if self.user_id is not None:
            found[user_digest(self.user_id)] = "user"
        return found

    @property
    def training_keys(self) -> set[str]:
        """The person's user keys in training states and artifacts."""
        keys = {f"v:{v}" for v in self.visitor_ids}
        if self.user_id is not None:
            keys.add(str(self.user_id))
        return keys

    @property
    def list_keys(self) -> list[str]:
        """Precomputed list keys that belong to the person (only ``user:<id>`` is ever written;
        ``user:v:<visitor>`` is checked too)."""
        keys = [f"user:v:{v}" for v in self.visitor_ids]
        if self.user_id is not None:
            keys.insert(0, f"user:{self.user_id}")
        return keys

    @property
    def markers(self) -> list[str]:
        """Substrings whose presence in a key name or value is a reference to the person."""
        found = list(self.visitor_ids)
        if self.user_id is not None:
            found += [f"user:{self.user_id}", f"user-{self.user_id}"]
        return found

    def events_filter(self) -> Q:
        """The person's events: their user's, and their visitors' that no other user signed in
        for (a browser shared without logging out keeps the other user's events)."""
        if self.user_id is None:
            return Q(visitor_id__in=list(self.visitor_ids))
        return Q(user_id=self.user_id) | Q(
            visitor_id__in=list(self.visitor_ids), user_id__isnull=True
        )


def resolve(
    *,
    user_id: int | None = None,
    visitor_id: str | None = None,
    extra_visitors: tuple[str, ...] = (),
) -> Subject:
    """The subject for a user id (with every visitor id ever linked to them, seen in their events
    or flagged with them, plus ``extra_visitors``) or for a bare visitor id."""
    if (user_id is None) == (visitor_id is None):
        raise ValueError("name either a user id or a visitor id")
    visitors: set[str] = set(extra_visitors)
    if user_id is not None:
        visitors.add(f"user-{user_id}")
        visitors.update(
            VisitorLink.objects.filter(user_id=user_id).values_list("visitor_id", flat=True)
        )
        visitors.update(
            Event.objects.filter(user_id=user_id).values_list("visitor_id", flat=True).distinct()
        )
        visitors.update(
            QuarantinedVisitor.objects.filter(user_id=user_id).values_list("visitor_id", flat=True)
        )
        ordered = tuple(sorted(visitors))
    else:
        assert visitor_id is not None
        visitors.discard(visitor_id)
        ordered = (visitor_id, *sorted(visitors))
    orders = {
        str(order)
        for order in Event.objects.filter(
            Subject(user_id, ordered).events_filter(), kind=EventKind.PURCHASE
        ).values_list("context__order", flat=True)
        if order is not None
    }
    return Subject(user_id=user_id, visitor_ids=ordered, order_ids=tuple(sorted(orders)))
