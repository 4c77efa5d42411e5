"""The event log in admin: read-only (events are insert-only) with a daily chart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from recommendations.models import Event, VisitorLink

from .charts import daily_bar_chart

CHART_DAYS = 30


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

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        today = timezone.localdate()
        days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
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
    list_display = ("visitor_id", "user", "linked_at")
    search_fields = ("=visitor_id", "user__username")
    raw_id_fields = ("user",)
