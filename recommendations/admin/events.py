"""The event log in admin: read-only (events are insert-only) with a daily chart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from recommendations import fallbacks
from recommendations.conf import app_settings
from recommendations.merchandising.attribution import daily_counts
from recommendations.models import Event, EventKind, VisitorLink
from recommendations.tracking import sinks
from recommendations.types import Fallback

from . import performance
from .charts import CHART_DAYS, daily_bar_chart, last_days
from .dashboard import chart, dashboard_context


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("ts", "kind", "item_id", "user", "visitor_id", "value")
    list_filter = ("kind", "ts")
    search_fields = ("=item_id", "=visitor_id", "=event_id")
    date_hierarchy = "ts"
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="recommendations_dashboard",
            ),
            path(
                "health/",
                self.admin_site.admin_view(self.health_view),
                name="recommendations_event_health",
            ),
            path(
                "performance/",
                self.admin_site.admin_view(self.performance_view),
                name="recommendations_event_performance",
            ),
            *super().get_urls(),
        ]

    def performance_view(self, request: HttpRequest) -> HttpResponse:
        """What each slot, source and item earned over a chosen range; CSV with ``?format=csv``."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = performance.RangeForm(request.GET or {"preset": performance.DEFAULT_PRESET})
        first, last = (
            (form.cleaned_data["first"], form.cleaned_data["last"])
            if form.is_valid()
            else (None, None)
        )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Recommendation performance",
            "form": form,
        }
        if first is not None and last is not None:
            report = performance.report_for(first, last)
            if request.GET.get("format") == "csv":
                return performance.csv_response(report, first, last)
            days = performance.days_of(first, last)
            impressions = daily_counts(EventKind.IMPRESSION, days)
            clicks = daily_counts(EventKind.CLICK, days)
            context |= {
                "report": report,
                "first": first,
                "last": last,
                "items": report.by_item[: performance.ITEMS_SHOWN],
                "names": performance.item_names(report.by_item[: performance.ITEMS_SHOWN]),
                "rule_names": performance.rule_names(report.by_rule),
                "currency": app_settings.CURRENCY,
                "daily_chart": chart(
                    "bar",
                    [day.isoformat() for day in days],
                    {
                        "Impressions": [impressions.get(day, 0) for day in days],
                        "Clicks": [clicks.get(day, 0) for day in days],
                    },
                ),
                "csv_query": {**request.GET.dict(), "format": "csv"},
            }
        return TemplateResponse(request, "admin/recommendations/event/performance.html", context)

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Now: events per minute, active visitors, model and list freshness, runs, the stream."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Recommendations dashboard",
            **dashboard_context(request),
        }
        return TemplateResponse(request, "admin/recommendations/dashboard.html", context)

    def health_view(self, request: HttpRequest) -> HttpResponse:
        """Answers served from a fallback (no model, no lists, no database) per day and kind,
        and the events this process had to drop: an outage shows here, not only in logs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = last_days(CHART_DAYS)
        counted = fallbacks.daily_counts(days)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Serving health",
            "days": CHART_DAYS,
            "fallback_charts": [
                {
                    "caption": fallback.label,
                    "total": sum(counted.get(fallback, {}).values()),
                    "chart": daily_bar_chart(counted.get(fallback, {}), days),
                }
                for fallback in Fallback
            ],
            "dropped": sinks.dropped.value,
        }
        return TemplateResponse(request, "admin/recommendations/event/health.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        days = last_days(CHART_DAYS)
        since = timezone.now() - timedelta(days=CHART_DAYS)
        counts = dict(
            Event.objects.filter(ts__gte=since)
            .annotate(day=TruncDate("ts"))
            .values("day")
            .annotate(n=Count("id"))
            .values_list("day", "n")
        )
        context = {**(extra_context or {}), "daily_chart": daily_bar_chart(counts, days)}
        return super().changelist_view(request, extra_context=context)


@admin.register(VisitorLink)
class VisitorLinkAdmin(admin.ModelAdmin):
    """Read-only: a link records that a browser logged in as a user. Editing one would move that
    browser's whole history (and its future events) onto somebody else's account.

    Deleting stays possible (with the delete permission), as for events: deleting a user in admin
    deletes their links and events with them, and admin refuses to delete a user at all when a
    related model's admin forbids deleting.
    """

    list_display = ("visitor_id", "user", "linked_at")
    search_fields = ("=visitor_id", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = ("visitor_id", "user", "linked_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
