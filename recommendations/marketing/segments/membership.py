"""A segment's members: who qualifies now, the difference with the stored rows, and the
signals and daily counts that difference makes.

The rows of one segment are written under a lock on its row, so a rebuild and an incremental
update that overlap (two workers) apply one after the other; the signals are sent once the rows
have committed, so a receiver that reads the membership sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from recommendations.models import (
    MatchMode,
    Segment,
    SegmentCondition,
    SegmentDailyCount,
    SegmentMember,
)
from recommendations.signals import segment_entered, segment_left

from .conditions import evaluate
from .members import parse_member

logger = logging.getLogger("recommendations.marketing")

#: An "all" segment asks its later conditions only about the members of the earlier ones while
#: they are at most this many (a longer list costs more as a parameter list than it saves).
NARROW_LIMIT = 5000
#: Rows deleted or read per statement.
CHUNK = 2000

Qualifying = dict[str, list[str]]


@dataclass(frozen=True)
class Outcome:
    """What one recomputation changed."""

    members: int
    entered: int
    left: int


def qualifying(
    segment: Segment,
    conditions: Sequence[SegmentCondition],
    now: datetime,
    among: Collection[str] | None = None,
) -> Qualifying:
    """``{member: [reason, ...]}`` of who is in ``segment`` at ``now`` (of ``among``, or of
    everyone): all conditions (reasons in condition order) or any of them."""
    if not conditions:
        return {}
    if segment.match == MatchMode.ANY:
        found: Qualifying = {}
        for condition in conditions:
            for member, reason in evaluate(condition, now, among).items():
                found.setdefault(member, []).append(reason)
        return found
    result: Qualifying | None = None
    for condition in conditions:
        asked = among
        if result is not None and len(result) <= NARROW_LIMIT:
            asked = set(result)
        reasons = evaluate(condition, now, asked)
        if result is None:
            result = {member: [reason] for member, reason in reasons.items()}
        else:
            result = {m: [*r, reasons[m]] for m, r in result.items() if m in reasons}
        if not result:
            return {}
    return result or {}


def apply_membership(
    segment_id: int,
    found: Qualifying,
    now: datetime,
    scope: Collection[str] | None = None,
    *,
    computed: bool = True,
) -> Outcome:
    """Make the stored members of ``scope`` (every member when ``None``) exactly ``found``.

    New members are inserted and sent ``segment_entered``; members of the scope no longer found
    are deleted and sent ``segment_left``; reasons of the others are refreshed. Today's
    :class:`SegmentDailyCount`, the segment's count and its ``computed_at`` (``now``, never moved
    back; left empty when not ``computed``) follow.
    """
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment_id)
        stored = _stored(segment_id, scope)
        entered = [member for member in found if member not in stored]
        left = [member for member in stored if member not in found]
        SegmentMember.objects.bulk_create(
            [_row(segment_id, member, found[member], now) for member in entered],
            batch_size=CHUNK,
        )
        for start in range(0, len(left), CHUNK):
            SegmentMember.objects.filter(
                segment_id=segment_id, member__in=left[start : start + CHUNK]
            ).delete()
        changed = [
            SegmentMember(pk=pk, reasons=found[member])
            for member, (pk, reasons) in stored.items()
            if member in found and reasons != found[member]
        ]
        SegmentMember.objects.bulk_update(changed, ["reasons"], batch_size=CHUNK)
        count = SegmentMember.objects.filter(segment_id=segment_id).count()
        _count_day(segment_id, now, count, len(entered), len(left))
        segment.member_count = count
        if not computed:
            segment.computed_at = None
        elif segment.computed_at is None or segment.computed_at < now:
            segment.computed_at = now
        segment.save(update_fields=["member_count", "computed_at"])
        entries = [(member, found[member]) for member in entered]
        transaction.on_commit(lambda: _announce(segment, entries, left))
    return Outcome(members=count, entered=len(entered), left=len(left))


def _stored(segment_id: int, scope: Collection[str] | None) -> dict[str, tuple[int, list[str]]]:
    """``{member: (pk, reasons)}`` of the segment's rows in ``scope``."""
    rows = SegmentMember.objects.filter(segment_id=segment_id).order_by()
    if scope is None or len(scope) > NARROW_LIMIT:
        wanted = None if scope is None else set(scope)
        return {
            member: (pk, reasons)
            for member, pk, reasons in rows.values_list("member", "pk", "reasons").iterator(CHUNK)
            if wanted is None or member in wanted
        }
    return {
        member: (pk, reasons)
        for member, pk, reasons in rows.filter(member__in=list(scope)).values_list(
            "member", "pk", "reasons"
        )
    }


def _row(segment_id: int, member: str, reasons: list[str], now: datetime) -> SegmentMember:
    user_id, visitor_id = parse_member(member)
    return SegmentMember(
        segment_id=segment_id,
        member=member,
        user_id=user_id,
        visitor_id=visitor_id,
        entered_at=now,
        reasons=reasons,
    )


def _count_day(segment_id: int, now: datetime, members: int, entered: int, left: int) -> None:
    day = timezone.localdate(now)
    row, created = SegmentDailyCount.objects.get_or_create(
        segment_id=segment_id,
        day=day,
        defaults={"members": members, "entered": entered, "left": left},
    )
    if not created:
        SegmentDailyCount.objects.filter(pk=row.pk).update(
            members=members, entered=F("entered") + entered, left=F("left") + left
        )


def _announce(segment: Segment, entered: Iterable[tuple[str, list[str]]], left: list[str]) -> None:
    """The signals of one committed change. Sent robustly: a receiver that fails is logged (by
    Django's ``django.dispatch`` logger) and the others still hear of every member."""
    for member, reasons in entered:
        user_id, visitor_id = parse_member(member)
        segment_entered.send_robust(
            sender=Segment,
            segment=segment,
            member=member,
            user_id=user_id,
            visitor_id=visitor_id,
            reasons=reasons,
        )
    for member in left:
        user_id, visitor_id = parse_member(member)
        segment_left.send_robust(
            sender=Segment, segment=segment, member=member, user_id=user_id, visitor_id=visitor_id
        )


def rebuild(segment: Segment, now: datetime | None = None) -> Outcome:
    """Recompute every member of ``segment``; an inactive segment loses its members."""
    now = now or timezone.now()
    if not segment.active:
        return apply_membership(segment.pk, {}, now, computed=False)
    conditions = list(segment.conditions.all())
    return apply_membership(segment.pk, qualifying(segment, conditions, now), now)
