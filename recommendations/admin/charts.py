"""Small server-rendered charts for admin pages (inline SVG, no JavaScript, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

#: Days the admin's daily charts cover.
CHART_DAYS = 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    maximum: int
    first: str
    last: str


def daily_bar_chart(
    counts: dict[date, int], days: list[date], width: int = 720, height: int = 120
) -> BarChart:
    """Bars for ``days`` (missing days count zero), scaled to the busiest day."""
    maximum = max((counts.get(day, 0) for day in days), default=0)
    slot = width / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        value = counts.get(day, 0)
        bar_height = (value / maximum) * (height - 4) if maximum else 0
        bars.append(
            Bar(
                x=round(i * slot + 1, 1),
                y=round(height - bar_height, 1),
                width=round(max(slot - 2, 1), 1),
                height=round(bar_height, 1),
                label=day.isoformat(),
                value=value,
            )
        )
    return BarChart(
        bars=bars,
        width=width,
        height=height,
        maximum=maximum,
        first=days[0].isoformat() if days else "",
        last=days[-1].isoformat() if days else "",
    )


def last_days(count: int) -> list[date]:
    """The ``count`` days up to today, oldest first."""
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]
