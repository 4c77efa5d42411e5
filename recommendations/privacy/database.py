"""The person's rows in the app's tables: events, visitor links, quarantine flags, lists.

Events, links and flags are the person's own rows. Precomputed lists have a database table in
embedded mode only (services mode keeps them in Redis, see :mod:`.live_state`); the person's are
``user:<id>``. Suppression and erase-request rows hold keyed hashes only and stay.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from recommendations.models import (
    Event,
    PrecomputedList,
    QuarantinedVisitor,
    VisitorLink,
)

from .subject import Subject


def _links(subject: Subject) -> Q:
    """Links and flags of the person: their user's, and their visitors' without another user
    (as :meth:`Subject.events_filter`)."""
    visitors = Q(visitor_id__in=list(subject.visitor_ids))
    if subject.user_id is None:
        return visitors
    return Q(user_id=subject.user_id) | (visitors & Q(user_id__isnull=True))


def export_rows(subject: Subject) -> dict[str, Any]:
    events = Event.objects.filter(subject.events_filter()).order_by("ts", "pk")
    return {
        "events": [
            {
                "event_id": str(e.event_id),
                "visitor_id": e.visitor_id,
                "user_id": e.user_id,
                "item_id": e.item_id,
                "kind": e.get_kind_display(),
                "value": e.value,
                "ts": e.ts.isoformat(),
                "client_ts": e.client_ts.isoformat() if e.client_ts else None,
                "context": e.context,
            }
            for e in events.iterator(chunk_size=2000)
        ],
        "visitor_links": [
            {"visitor_id": link.visitor_id, "user_id": link.user_id, "linked_at": link.linked_at}
            for link in VisitorLink.objects.filter(_links(subject)).order_by("linked_at")
        ],
        "quarantine": [
            {
                "visitor_id": flag.visitor_id,
                "user_id": flag.user_id,
                "reason": flag.reason,
                "flagged_at": flag.flagged_at,
            }
            for flag in QuarantinedVisitor.objects.filter(_links(subject))
        ],
        "precomputed_lists_db": {
            row.key: {"items": row.items, "model_version": row.model_version}
            for row in PrecomputedList.objects.filter(key__in=subject.list_keys)
        },
    }


def purge_rows(subject: Subject) -> dict[str, int]:
    """Delete the person's rows in one transaction; returns rows deleted per table."""
    with transaction.atomic():
        counts = {
            "events": Event.objects.filter(subject.events_filter()).delete()[0],
            "visitor_links": VisitorLink.objects.filter(_links(subject)).delete()[0],
            "quarantine": QuarantinedVisitor.objects.filter(_links(subject)).delete()[0],
            "precomputed_lists_db": PrecomputedList.objects.filter(
                key__in=subject.list_keys
            ).delete()[0],
        }
    return counts


def find_rows(subject: Subject) -> list[str]:
    """Tables that still hold a row of the person."""
    found = []
    if Event.objects.filter(subject.events_filter()).exists():
        found.append("events")
    if VisitorLink.objects.filter(_links(subject)).exists():
        found.append("visitor links")
    if QuarantinedVisitor.objects.filter(_links(subject)).exists():
        found.append("quarantine flags")
    if PrecomputedList.objects.filter(key__in=subject.list_keys).exists():
        found.append("precomputed lists (database)")
    return found
