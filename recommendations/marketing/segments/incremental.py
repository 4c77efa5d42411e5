"""The frequent update (beat: every 30 seconds) and the full rebuild (hourly).

The update recomputes only the members that may have changed since the segment's
``computed_at``: visitors with events of a kind its conditions read, and visitors whose time
threshold passed meanwhile (a cart becomes abandoned H hours after the add, a buyer lapses D
days after the last order, a view stops counting once D days old), found by the events whose
age crossed the threshold. ``computed_at`` lives on the segment row, so whichever worker runs next
carries on from there. What the update cannot see (a high spender pushed out of the top P % by
others' orders, a for-you list rewritten by a new model) the hourly rebuild corrects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from recommendations.models import Event, Segment, SegmentCondition

from .conditions import event_kinds, thresholds
from .members import members_in
from .membership import CHUNK, Outcome, Qualifying, apply_membership, qualifying, rebuild

logger = logging.getLogger("recommendations.marketing")

#: Events are stamped when a page receives them and stored a moment later by the ingest
#: consumer: the update looks back this much further, so an event stored late is not missed.
INGEST_GRACE = timedelta(minutes=5)


@dataclass
class Summary:
    """What a run did, for the task's result and the log."""

    segments: int = 0
    entered: int = 0
    left: int = 0
    members_checked: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.segments += 1
        self.entered += outcome.entered
        self.left += outcome.left

    def as_dict(self) -> dict[str, object]:
        return {
            "segments": self.segments,
            "entered": self.entered,
            "left": self.left,
            "members_checked": self.members_checked,
            "failed": self.failed,
        }


def candidates(conditions: Sequence[SegmentCondition], since: datetime, now: datetime) -> set[str]:
    """Members whose standing in a segment with ``conditions`` may have changed in
    (``since``, ``now``]: two queries, whatever the number of conditions."""
    since = since - INGEST_GRACE
    kinds = set().union(*(event_kinds(c) for c in conditions))
    changed = Q(kind__in=kinds, ts__gt=since, ts__lte=now) if kinds else Q(pk__in=[])
    for condition in conditions:
        for threshold in thresholds(condition):
            changed |= Q(
                kind__in=threshold.kinds,
                ts__gt=since - threshold.after,
                ts__lte=now - threshold.after,
            )
    return members_in(Event.objects.filter(changed))


def update_segment(segment: Segment, now: datetime, summary: Summary) -> None:
    if not segment.active:
        if segment.member_count or segment.computed_at is not None:
            summary.add(rebuild(segment, now))
        return
    if segment.computed_at is None:
        summary.add(rebuild(segment, now))
        return
    conditions = list(segment.conditions.all())
    changed = sorted(candidates(conditions, segment.computed_at, now))
    found: Qualifying = {}
    for start in range(0, len(changed), CHUNK):
        found |= qualifying(segment, conditions, now, changed[start : start + CHUNK])
    summary.members_checked += len(changed)
    summary.add(apply_membership(segment.pk, found, now, changed))


def update_segments(now: datetime | None = None) -> Summary:
    """Bring every segment up to ``now`` from what changed since it was last computed."""
    return _each(update_segment, Segment.objects.all(), now)


def rebuild_segments(
    segment_ids: Sequence[int] | None = None, now: datetime | None = None
) -> Summary:
    """Recompute every member of the segments (all when ``segment_ids`` is None)."""
    segments = Segment.objects.all()
    if segment_ids is not None:
        segments = segments.filter(pk__in=segment_ids)

    def run(segment: Segment, at: datetime, summary: Summary) -> None:
        if segment.active or segment.member_count or segment.computed_at is not None:
            summary.add(rebuild(segment, at))

    return _each(run, segments, now)


def _each(
    run: Callable[[Segment, datetime, Summary], None],
    segments: QuerySet[Segment],
    now: datetime | None,
) -> Summary:
    """``run`` each segment in turn; one that fails (a store down, a bad adapter) is logged and
    keeps its members, and the others still run."""
    now = now or timezone.now()
    summary = Summary()
    for segment in segments.prefetch_related("conditions"):
        try:
            run(segment, now, summary)
        except Exception:
            logger.exception("Segment %r could not be computed; its members are kept", segment.key)
            summary.failed.append(segment.key)
    return summary
