"""The person's rows in the app's tables: events, visitor links, quarantine flags, lists,
checkout attempts, risk assessments and segment memberships.

Events, links, flags, attempts, assessments and memberships are the person's own rows (an
order's attempt and assessment are the person's when the order is one of theirs). Precomputed lists have a database table in
embedded mode only (services mode keeps them in Redis, see :mod:`.live_state`); the person's are
``user:<id>``. Suppression and erase-request rows hold keyed hashes only and stay.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from recommendations.models import (
    CheckoutAttempt,
    Event,
    PrecomputedList,
    QuarantinedVisitor,
    RiskAssessment,
    RiskSubject,
    SegmentMember,
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


def _attempts(subject: Subject) -> Q:
    return _links(subject) | Q(order_id__in=list(subject.order_ids))


def _assessments(subject: Subject) -> Q:
    """Assessments of the person as a visitor (their user keys) and of their orders."""
    found = Q(subject=RiskSubject.VISITOR, key__in=sorted(subject.training_keys)) | Q(
        subject=RiskSubject.ORDER, key__in=list(subject.order_ids)
    )
    return found | Q(user_id=subject.user_id) if subject.user_id is not None else found


def _memberships(subject: Subject) -> Q:
    return Q(member__in=sorted(subject.training_keys))


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
        "checkout_attempts": [
            {
                "created": attempt.created.isoformat(),
                "order_id": attempt.order_id,
                "approved": attempt.approved,
                "email": attempt.email,
                "shipping_address": attempt.address,
                "card_fingerprint": attempt.card_fingerprint,
                "amount": str(attempt.amount) if attempt.amount is not None else None,
            }
            for attempt in CheckoutAttempt.objects.filter(_attempts(subject)).order_by("created")
        ],
        "risk_assessments": [
            {
                "subject": row.subject,
                "key": row.key,
                "score": row.score,
                "level": row.level,
                "reasons": row.reasons,
                "status": row.status,
                "decision_reason": row.decision_reason,
                "note": row.note,
                "scored_at": row.scored_at.isoformat(),
            }
            for row in RiskAssessment.objects.filter(_assessments(subject)).order_by("pk")
        ],
        "segments": [
            {
                "segment": row.segment.name,
                "member": row.member,
                "entered_at": row.entered_at.isoformat(),
                "reasons": row.reasons,
            }
            for row in SegmentMember.objects.filter(_memberships(subject)).select_related("segment")
        ],
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
            "checkout_attempts": CheckoutAttempt.objects.filter(_attempts(subject)).delete()[0],
            "risk_assessments": RiskAssessment.objects.filter(_assessments(subject)).delete()[0],
            "segments": SegmentMember.objects.filter(_memberships(subject)).delete()[0],
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
    if CheckoutAttempt.objects.filter(_attempts(subject)).exists():
        found.append("checkout attempts")
    if RiskAssessment.objects.filter(_assessments(subject)).exists():
        found.append("risk assessments")
    if SegmentMember.objects.filter(_memberships(subject)).exists():
        found.append("segment memberships")
    return found
