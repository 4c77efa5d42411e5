"""Segments in admin: conditions picked per kind and checked before saving, the members with
why each is in, their CSV, and the daily member counts as a chart.

Saving a segment (or "Recompute now") queues ``recommendations.rebuild_segments`` for it once
the change has committed; between rebuilds the worker's frequent update keeps members current.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from recommendations.catalog import get_catalog
from recommendations.marketing.segments.forms import SegmentConditionForm, SegmentConditionFormSet
from recommendations.marketing.segments.reports import (
    condition_sentence,
    daily_series,
    member_rows,
    write_csv,
)
from recommendations.models import Segment, SegmentCondition

from .charts import CHART_DAYS, last_days
from .dashboard import chart
from .merchandising import NameInput, ProductPicker

#: Members listed per page (the CSV has them all).
MEMBERS_PER_PAGE = 100


class ConditionAdminForm(SegmentConditionForm):
    """The condition form with the catalogue's names offered and products searched."""

    class Meta(SegmentConditionForm.Meta):
        widgets = {
            "category": NameInput(lambda: get_catalog().categories()),
            "item_id": ProductPicker(),
        }
        labels = {"item_id": "product X"}


class SegmentConditionInline(admin.TabularInline):
    model = SegmentCondition
    form = ConditionAdminForm
    formset = SegmentConditionFormSet
    extra = 1
    verbose_name = "condition"
    verbose_name_plural = "conditions (each kind uses only its own fields: C, N, D, H, K, P, X)"


def queue_rebuild(segment_ids: list[int]) -> None:
    """Rebuild ``segment_ids`` once the surrounding transaction commits (at once in embedded
    mode, where tasks run in the process)."""
    from recommendations.tasks import rebuild_segments

    transaction.on_commit(lambda: rebuild_segments.delay(segment_ids))


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "match", "active", "member_list", "computed_at")
    list_filter = ("active", "match")
    search_fields = ("name", "key", "description")
    prepopulated_fields = {"key": ("name",)}
    readonly_fields = ("member_count", "computed_at")
    fields = ("name", "key", "description", "match", "active", "member_count", "computed_at")
    inlines = [SegmentConditionInline]
    actions = ["recompute_now"]

    @admin.display(description="members", ordering="member_count")
    def member_list(self, obj: Segment) -> str:
        url = reverse("admin:recommendations_segment_members", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.member_count)

    @admin.action(description="Recompute now", permissions=["change"])
    def recompute_now(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queue_rebuild(ids)
        self.message_user(
            request, f"Recomputing {len(ids)} segment{'' if len(ids) == 1 else 's'}.", messages.INFO
        )

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        queue_rebuild([form.instance.pk])

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/members/",
                view(self.members_view),
                name="recommendations_segment_members",
            ),
            path(
                "<path:object_id>/recompute/",
                view(require_POST(self.recompute_view)),
                name="recommendations_segment_recompute",
            ),
            *super().get_urls(),
        ]

    def members_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Who is in the segment and why, its size per day; every member as CSV with
        ``?format=csv``."""
        segment = self._segment(object_id)
        if not self.has_view_permission(request, segment):
            raise PermissionDenied
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = (
                f'attachment; filename="segment-{segment.key}-members.csv"'
            )
            write_csv(segment, response)
            return response
        page = Paginator(segment.members.order_by("-entered_at", "pk"), MEMBERS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        days = last_days(CHART_DAYS)
        labels = [day.isoformat() for day in days]
        series = daily_series(segment, days)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Members of {segment.name}",
            "segment": segment,
            "conditions": [condition_sentence(c) for c in segment.conditions.all()],
            "joiner": "and" if segment.match == "all" else "or",
            "page": page,
            "rows": member_rows(page.object_list),
            "chart_days": CHART_DAYS,
            "members_chart": chart("line", labels, {"Members": series.members}),
            "changes_chart": chart("bar", labels, {"Entered": series.entered, "Left": series.left}),
            "can_change": self.has_change_permission(request, segment),
        }
        return TemplateResponse(request, "admin/recommendations/segment/members.html", context)

    def recompute_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        segment = self._segment(object_id)
        if not self.has_change_permission(request, segment):
            raise PermissionDenied
        queue_rebuild([segment.pk])
        self.message_user(request, f"Recomputing {segment.name}.", messages.INFO)
        return HttpResponseRedirect(
            reverse("admin:recommendations_segment_members", args=[segment.pk])
        )

    def _segment(self, object_id: str) -> Segment:
        if not (object_id.isascii() and object_id.isdecimal()):
            raise Http404(f"No segment {object_id!r}.")
        return get_object_or_404(Segment, pk=int(object_id))
