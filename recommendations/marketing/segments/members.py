"""Member keys and the per-member queries every condition is built from.

A member is named as training names users: ``"42"`` for user 42 (every event with ``user_id``
set, whichever browser it came from) and ``"v:<visitor id>"`` for a visitor who never signed in.
So one query per kind of member is enough: grouped by ``user_id`` for users, by ``visitor_id``
for the anonymous events.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from django.db.models import Q, QuerySet

from recommendations.models import Event

VISITOR_PREFIX = "v:"


def member_key(user_id: int | None, visitor_id: str) -> str:
    return f"{VISITOR_PREFIX}{visitor_id}" if user_id is None else str(user_id)


def parse_member(member: str) -> tuple[int | None, str]:
    """``(user_id, visitor_id)`` of a member key; the visitor id is empty for a user."""
    if member.startswith(VISITOR_PREFIX):
        return None, member[len(VISITOR_PREFIX) :]
    return int(member), ""


def split_members(members: Iterable[str]) -> tuple[list[int], list[str]]:
    """User ids and visitor ids of ``members``; a key that names neither is left out."""
    users, visitors = [], []
    for member in members:
        if member.startswith(VISITOR_PREFIX):
            visitors.append(member[len(VISITOR_PREFIX) :])
        elif member.isascii() and member.isdecimal():
            users.append(int(member))
    return users, visitors


def events_of(members: Collection[str] | None) -> QuerySet[Event]:
    """Events of ``members`` (every event when ``None``)."""
    events = Event.objects.order_by()
    if members is None:
        return events
    users, visitors = split_members(members)
    return events.filter(Q(user_id__in=users) | Q(user__isnull=True, visitor_id__in=visitors))


def per_member(events: QuerySet[Event], **aggregates: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(member, {name: value})`` for each member among ``events``: two grouped queries."""
    users = events.filter(user__isnull=False).order_by().values("user_id").annotate(**aggregates)
    for user_row in users:
        row: dict[str, Any] = dict(user_row)
        yield str(row.pop("user_id")), row
    visitors = events.filter(user__isnull=True).order_by().values("visitor_id")
    for visitor_row in visitors.annotate(**aggregates):
        row = dict(visitor_row)
        yield VISITOR_PREFIX + row.pop("visitor_id"), row


def members_in(events: QuerySet[Event]) -> set[str]:
    """The members ``events`` belong to."""
    found = {
        str(user_id)
        for user_id in events.filter(user__isnull=False)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    }
    found |= {
        VISITOR_PREFIX + visitor_id
        for visitor_id in events.filter(user__isnull=True)
        .order_by()
        .values_list("visitor_id", flat=True)
        .distinct()
    }
    return found
