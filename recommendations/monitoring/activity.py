"""Events per minute by kind and active visitors, read from the event table.

The table is indexed by time, so a day of minutes is one grouped query; the dashboard asks for
the last hour and the last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncMinute
from django.utils import timezone

from recommendations.models import Event, EventKind

#: A visitor with an event in this many minutes counts as active.
ACTIVE_MINUTES = 30


@dataclass(frozen=True)
class Series:
    """Counts per minute for one event kind, oldest first, one entry for every minute."""

    kind: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Activity:
    minutes: list[datetime]
    series: list[Series]

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)

    def last(self, minutes: int) -> Activity:
        """The newest ``minutes`` of this activity (the last hour of a day), without a query."""
        series = [Series(s.kind, s.counts[-minutes:]) for s in self.series]
        return Activity(self.minutes[-minutes:], [s for s in series if s.total])


def events_per_minute(span: timedelta, now: datetime | None = None) -> Activity:
    """Every minute of the last ``span`` with its events per kind (kinds without events left
    out), so a chart shows quiet minutes as zero rather than joining the busy ones."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    count = max(int(span / timedelta(minutes=1)), 1)
    minutes = [now - timedelta(minutes=count - 1 - i) for i in range(count)]
    index = {minute: i for i, minute in enumerate(minutes)}
    rows = (
        Event.objects.filter(ts__gte=minutes[0])
        .annotate(minute=TruncMinute("ts"))
        .values("minute", "kind")
        .annotate(n=Count("id"))
        .values_list("minute", "kind", "n")
    )
    by_kind: dict[int, list[int]] = {}
    for minute, kind, n in rows:
        position = index.get(minute.replace(second=0, microsecond=0))
        if position is not None:
            by_kind.setdefault(kind, [0] * count)[position] += n
    series = [
        Series(EventKind(kind).label, counts)
        for kind, counts in sorted(by_kind.items())
        if kind in EventKind.values
    ]
    return Activity(minutes, series)


def active_visitors(minutes: int = ACTIVE_MINUTES, now: datetime | None = None) -> int:
    """Distinct visitors with an event in the last ``minutes``."""
    since = (now or timezone.now()) - timedelta(minutes=minutes)
    return Event.objects.filter(ts__gte=since).values("visitor_id").distinct().count()
