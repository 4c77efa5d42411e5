"""The merchandiser's dashboard: what is happening now and whether the learning loop is fresh.

Charts are drawn in the browser by the vendored Chart.js (``static/recommendations/vendor``),
from data the page carries; nothing is loaded from elsewhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from recommendations import fallbacks
from recommendations.models import Dashboard
from recommendations.monitoring import activity, pipeline
from recommendations.types import Fallback

from .charts import CHART_DAYS, last_days


def chart(kind: str, labels: list[str], datasets: dict[str, list[int]], **options: Any) -> dict:
    """The JSON a ``<canvas data-chart>`` is drawn from (see ``admin/charts.js``)."""
    return {
        "type": kind,
        "labels": labels,
        "datasets": [{"label": label, "data": data} for label, data in datasets.items()],
        **options,
    }


def _activity_chart(now: activity.Activity, label_format: str) -> tuple[dict, int]:
    labels = [timezone.localtime(minute).strftime(label_format) for minute in now.minutes]
    datasets = {series.kind: series.counts for series in now.series}
    return chart("line", labels, datasets), now.total


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """Everything the dashboard shows; each part reads its own store, so one store away leaves
    the others on the page."""
    day = activity.events_per_minute(timedelta(days=1))  # one query; the hour is its end
    hour_chart, hour_total = _activity_chart(day.last(60), "%H:%M")
    day_chart, day_total = _activity_chart(day, "%d %b %H:%M")
    days = last_days(CHART_DAYS)
    counted = fallbacks.daily_counts(days)
    fallback_chart = chart(
        "bar",
        [day.isoformat() for day in days],
        {f.label: [counted.get(f, {}).get(day, 0) for day in days] for f in Fallback},
        stacked=True,
    )
    return {
        "hour_chart": hour_chart,
        "hour_total": hour_total,
        "day_chart": day_chart,
        "day_total": day_total,
        "active_visitors": activity.active_visitors(),
        "active_minutes": activity.ACTIVE_MINUTES,
        "models": pipeline.model_freshness(),
        "lists_written_at": pipeline.lists_written_at(),
        "runs": pipeline.recent_runs(),
        "stream": pipeline.stream_health(),
        "quarantined_today": pipeline.quarantined_today(),
        "dropped": pipeline.dropped_here(),
        "fallback_chart": fallback_chart,
        "fallback_total": sum(sum(by_day.values()) for by_day in counted.values()),
        "chart_days": CHART_DAYS,
    }


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    """The index's entry for the dashboard: opening it opens the dashboard page."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:recommendations_dashboard"))
