"""What admin shows of a segment: members by name with why, their CSV, the daily counts."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from recommendations.models import (
    ConditionKind,
    Segment,
    SegmentCondition,
    SegmentDailyCount,
    SegmentMember,
)

from .conditions import item_title, number, times

#: Members read per query when exporting.
EXPORT_CHUNK = 2000


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


@dataclass(frozen=True)
class MemberRow:
    member: str
    label: str
    user_id: int | None
    username: str
    email: str
    visitor_id: str
    entered_at: datetime
    reasons: list[str]


def member_rows(members: Iterable[SegmentMember]) -> list[MemberRow]:
    """Rows of ``members`` named as staff know them: a user by full name or username, a
    visitor as "visitor <id>"; the users are read in one query."""
    members = list(members)
    users = get_user_model().objects.in_bulk({m.user_id for m in members if m.user_id is not None})
    rows = []
    for m in members:
        user = users.get(m.user_id) if m.user_id is not None else None
        if user is not None:
            username = user.get_username()
            label = (getattr(user, "get_full_name", lambda: "")() or "").strip() or username
            email = getattr(user, "email", "") or ""
        else:
            username = email = ""
            label = (
                f"visitor {m.visitor_id}" if m.user_id is None else f"user {m.user_id} (deleted)"
            )
        rows.append(
            MemberRow(
                member=m.member,
                label=label,
                user_id=m.user_id,
                username=username,
                email=email,
                visitor_id=m.visitor_id,
                entered_at=m.entered_at,
                reasons=list(m.reasons or []),
            )
        )
    return rows


CSV_HEADER = [
    "member",
    "name",
    "user_id",
    "username",
    "email",
    "visitor_id",
    "entered_at",
    "reasons",
]


def write_csv(segment: Segment, out: Writable) -> None:
    """Every member of ``segment``, newest first, reasons joined by " | "."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for chunk in _chunks(segment.members.order_by("-entered_at", "pk")):
        for row in member_rows(chunk):
            writer.writerow(
                [
                    row.member,
                    row.label,
                    "" if row.user_id is None else row.user_id,
                    row.username,
                    row.email,
                    row.visitor_id,
                    row.entered_at.isoformat(),
                    " | ".join(row.reasons),
                ]
            )


def _chunks(members: QuerySet[SegmentMember]) -> Iterator[list[SegmentMember]]:
    chunk: list[SegmentMember] = []
    for member in members.iterator(EXPORT_CHUNK):
        chunk.append(member)
        if len(chunk) == EXPORT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class DailySeries:
    members: list[int]
    entered: list[int]
    left: list[int]


def daily_series(segment: Segment, days: Sequence[date]) -> DailySeries:
    """Members at the end of each of ``days`` (a day without a computation carries the last
    known size over) and how many entered and left that day."""
    if not days:
        return DailySeries([], [], [])
    rows = {
        row.day: row
        for row in SegmentDailyCount.objects.filter(segment=segment, day__lte=days[-1])
        .filter(day__gte=days[0])
        .order_by("day")
    }
    before = (
        SegmentDailyCount.objects.filter(segment=segment, day__lt=days[0])
        .order_by("-day")
        .values_list("members", flat=True)
        .first()
    )
    size = before or 0
    series = DailySeries([], [], [])
    for day in days:
        row = rows.get(day)
        if row is not None:
            size = row.members
        series.members.append(size)
        series.entered.append(row.entered if row else 0)
        series.left.append(row.left if row else 0)
    return series


def condition_sentence(condition: SegmentCondition) -> str:
    """A condition as a marketer would say it: "Viewed Kitchen at least 3 times in 7 days and
    bought nothing from it"."""
    c = condition
    days = f"{number(c.days or 0)} day{'' if c.days == 1 else 's'}"
    kind = ConditionKind(c.kind)
    if kind == ConditionKind.VIEWED_CATEGORY:
        return f"Viewed {c.category} at least {times(c.count or 1)} in {days} and bought nothing from it"
    if kind == ConditionKind.CART_ABANDONED:
        hours = f"{number(c.hours or 0)} hour{'' if c.hours == 1 else 's'}"
        since = f" (carts of the last {days})" if c.days else ""
        return f"Added to cart and placed no order within {hours}{since}"
    if kind == ConditionKind.LAPSED_BUYER:
        return (
            f"Placed at least {c.orders} order{'' if c.orders == 1 else 's'}, then none for {days}"
        )
    if kind == ConditionKind.HIGH_VALUE:
        return f"In the top {number(c.percent or 0)} % of buyers by revenue in {days}"
    if kind == ConditionKind.VIEWED_ITEM:
        return f"Viewed {item_title(c.item_id)} in {days}"
    return f"For-you list led by {c.category}"
