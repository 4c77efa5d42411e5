"""The bot quarantine in admin: counts by reason per day with a chart per reason, and the
visitors flagged for bursts (deleting a flag lets the visitor train models again)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from recommendations.models import QuarantineCount, QuarantinedVisitor, QuarantineReason

from .charts import CHART_DAYS, daily_bar_chart, last_days


@admin.register(QuarantineCount)
class QuarantineCountAdmin(admin.ModelAdmin):
    list_display = ("day", "reason", "kind", "count")
    list_filter = ("reason", "kind", "day")
    date_hierarchy = "day"
    readonly_fields = ("day", "reason", "kind", "count")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        days = last_days(CHART_DAYS)
        context = {
            **(extra_context or {}),
            "chart_days": CHART_DAYS,
            "reason_charts": reason_charts(days),
        }
        return super().changelist_view(request, extra_context=context)


def reason_charts(days: list[date]) -> list[dict[str, Any]]:
    """One daily chart per reason seen in ``days``, captioned with the reason's name."""
    since = timezone.localdate() - timedelta(days=len(days))
    by_reason: dict[str, dict[date, int]] = defaultdict(dict)
    rows = (
        QuarantineCount.objects.filter(day__gt=since)
        .values("reason", "day")
        .annotate(n=Sum("count"))
        .values_list("reason", "day", "n")
    )
    for reason, day, n in rows:
        by_reason[reason][day] = n
    labels = dict(QuarantineReason.choices)
    return [
        {
            "caption": f"Quarantined events: {labels.get(reason, reason)}",
            "chart": daily_bar_chart(counts, days),
        }
        for reason, counts in sorted(by_reason.items())
    ]


@admin.register(QuarantinedVisitor)
class QuarantinedVisitorAdmin(admin.ModelAdmin):
    list_display = ("visitor_id", "user", "reason", "flagged_at")
    list_filter = ("reason", "flagged_at")
    search_fields = ("=visitor_id", "user__username")
    list_select_related = ("user",)
    readonly_fields = ("visitor_id", "user", "reason", "flagged_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
