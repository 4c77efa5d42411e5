"""The performance page: what each slot, source and item earned over a chosen date range,
as a table, daily charts and CSV."""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.http import HttpResponse
from django.utils import timezone

from recommendations.catalog import ItemInfo, get_catalog
from recommendations.conf import app_settings
from recommendations.merchandising.attribution import Performance, Report, performance_report

#: Preset ranges, in days up to today.
PRESETS = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days"}
DEFAULT_PRESET = "30"
#: The longest custom range: a year of events is already a long read.
MAX_RANGE_DAYS = 366
#: Items listed on the page (the CSV has them all).
ITEMS_SHOWN = 25


class RangeForm(forms.Form):
    """A preset, or a custom ``since``/``until`` (both inclusive days)."""

    preset = forms.ChoiceField(
        choices=[*PRESETS.items(), ("custom", "Custom range")], required=False
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        preset = data.get("preset") or DEFAULT_PRESET
        today = timezone.localdate()
        if preset != "custom":
            data["first"], data["last"] = today - timedelta(days=int(preset) - 1), today
            return data
        first, last = data.get("since"), data.get("until")
        if first is None or last is None:
            raise forms.ValidationError("A custom range needs both a start and an end day.")
        if first > last:
            raise forms.ValidationError(f"The range starts ({first}) after it ends ({last}).")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise forms.ValidationError(f"A range covers at most {MAX_RANGE_DAYS} days.")
        data["first"], data["last"] = first, last
        return data


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in the current time zone."""
    zone = timezone.get_current_timezone()
    since = datetime.combine(first, time.min, tzinfo=zone)
    return since, datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)


def catalogue_size() -> int | None:
    """Products in the catalogue, when the adapter reads them from a queryset."""
    queryset = getattr(get_catalog(), "get_queryset", None)
    return queryset().count() if callable(queryset) else None


def report_for(first: date, last: date) -> Report:
    since, until = bounds(first, last)
    return performance_report(since, until, catalogue_size=catalogue_size())


def item_names(rows: list[Performance]) -> dict[str, ItemInfo]:
    """The catalogue's description of the rows' items, in one lookup."""
    return get_catalog().describe(row.item_id for row in rows)


def csv_response(report: Report, first: date, last: date) -> HttpResponse:
    """Every row of the report, one table: slot rows, source rows, then item rows."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="recommendation-performance-{first}-{last}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "level", "slot", "source", "item_id", "rule_id", "impressions", "clicks", "ctr_percent",
            "add_to_carts", "add_to_cart_rate_percent", "orders", "conversion_percent",
            "revenue", "currency",
        ]
    )  # fmt: skip
    levels: list[tuple[str, list[Performance]]] = [
        ("slot", report.by_slot),
        ("source", report.by_source),
        ("item", report.by_item),
        ("rule", report.by_rule),
    ]
    for level, rows in levels:
        for row in rows:
            writer.writerow(
                [
                    level, row.slot, row.source, row.item_id, row.rule_id or "", row.impressions,
                    row.clicks,
                    f"{row.ctr * 100:.2f}", row.add_to_carts, f"{row.add_to_cart_rate * 100:.2f}",
                    row.purchases, f"{row.conversion * 100:.2f}", f"{row.revenue:.2f}",
                    app_settings.CURRENCY or "",
                ]
            )  # fmt: skip
    return response


def rule_names(rows: list[Performance]) -> dict[int, str]:
    """Each row's rule as the merchandiser named it, with what it does; a deleted rule by id."""
    from recommendations.models import Rule

    rules = Rule.objects.in_bulk([row.rule_id for row in rows if row.rule_id is not None])
    return {pk: f"{rule.name}: {rule.sentence()}" for pk, rule in rules.items()}
