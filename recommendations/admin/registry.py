"""Model versions and training runs in admin: read-only, with rollback as the one action.

The version list carries a chart of each scenario's validation NDCG@10 per version over time
(inline SVG, no JavaScript), so a drop after a retrain is visible at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse

from recommendations.models import ModelVersion, TrainingRun
from recommendations.registry import RegistryError, rejected_warning, rollback
from recommendations.types import Scenario

CHART_VERSIONS = 60
COLOURS = {
    Scenario.FOR_YOU: "#417690",
    Scenario.SIMILAR_ITEM: "#c77c1c",
    Scenario.BOUGHT_TOGETHER: "#5b8c3a",
    Scenario.TRENDING: "#8a5a9e",
}


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    active: bool


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: list[Point]

    @property
    def path(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)


@dataclass(frozen=True)
class LineChart:
    series: list[Series]
    width: int
    height: int
    maximum: float
    first: str
    last: str


def metric_chart(
    versions: list[ModelVersion], width: int = 720, height: int = 140
) -> LineChart | None:
    """One line per scenario through its versions' validation NDCG@10, by creation time; the
    active version is drawn larger. ``None`` when no version has a metric yet."""
    measured = sorted(
        ((v, v.metric) for v in versions if v.metric is not None), key=lambda pair: pair[0].created
    )
    if not measured:
        return None
    start, end = measured[0][0].created, measured[-1][0].created
    span = max((end - start).total_seconds(), 1.0)
    maximum = max(metric for _, metric in measured) or 1.0
    series = []
    for scenario in Scenario:
        points = [
            Point(
                x=round(6 + (v.created - start).total_seconds() / span * (width - 12), 1),
                y=round(height - 6 - metric / maximum * (height - 12), 1),
                label=f"{v.version} ({v.get_status_display().lower()}): {metric:.4f}",
                active=v.status == ModelVersion.Status.ACTIVE,
            )
            for v, metric in measured
            if v.scenario == scenario
        ]
        if points:
            series.append(Series(scenario.label, COLOURS[scenario], points))
    return LineChart(
        series=series,
        width=width,
        height=height,
        maximum=round(maximum, 4),
        first=f"{start:%Y-%m-%d %H:%M}",
        last=f"{end:%Y-%m-%d %H:%M}",
    )


CHANGE_LIST = engines["django"].from_string(
    """{% extends "admin/change_list.html" %}
{% block content %}
{% if metric_chart %}{% with chart=metric_chart %}
<figure class="recommendations-chart" style="margin: 0 0 1.5em">
  <figcaption style="margin-bottom: .4em"><strong>Validation NDCG@10 per version</strong>
    (top of the chart: {{ chart.maximum }}; larger dot: active)
    {% for s in chart.series %}<span style="color: {{ s.colour }}; margin-left: 1em">&#9679; {{ s.name }}</span>{% endfor %}
  </figcaption>
  <svg width="{{ chart.width }}" height="{{ chart.height }}" viewBox="0 0 {{ chart.width }} {{ chart.height }}"
       role="img" aria-label="Validation NDCG@10 per model version from {{ chart.first }} to {{ chart.last }}">
    {% for s in chart.series %}
    <polyline points="{{ s.path }}" fill="none" stroke="{{ s.colour }}" stroke-width="1.5"></polyline>
    {% for p in s.points %}
    <circle cx="{{ p.x }}" cy="{{ p.y }}" r="{% if p.active %}5{% else %}2.5{% endif %}" fill="{{ s.colour }}"><title>{{ p.label }}</title></circle>
    {% endfor %}{% endfor %}
    <line x1="0" y1="{{ chart.height }}" x2="{{ chart.width }}" y2="{{ chart.height }}" stroke="#999"></line>
  </svg>
  <div style="display: flex; justify-content: space-between; width: {{ chart.width }}px; color: #666; font-size: 11px">
    <span>{{ chart.first }}</span><span>{{ chart.last }}</span>
  </div>
</figure>
{% endwith %}{% endif %}
{{ block.super }}
{% endblock %}"""
)


CONFIRM_REJECTED = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% block content %}
<p>{{ warning }}</p>
<p>Validation NDCG@10 of {{ target.version }}: {{ target.metric|floatformat:4 }}{% if target.reference %};
  {{ target.reference.version }} on the same split: {{ target.reference_metric|floatformat:4 }}{% endif %}.</p>
<form method="post">{% csrf_token %}
  <input type="hidden" name="{{ action_checkbox_name }}" value="{{ target.pk }}">
  <input type="hidden" name="action" value="roll_back_to_this_version">
  <input type="hidden" name="confirm_rejected" value="yes">
  <input type="submit" value="Yes, activate {{ target.version }}">
  <a href="." class="button cancel-link">No, keep the active version</a>
</form>
{% endblock %}"""
)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "version",
        "scenario",
        "model",
        "status",
        "validation_ndcg",
        "popularity_ndcg",
        "compared_with",
        "event_count",
        "created",
        "promoted_at",
    )
    list_filter = ("scenario", "status", "model")
    search_fields = ("=version", "model")
    date_hierarchy = "created"
    list_select_related = ("run", "reference")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ("roll_back_to_this_version",)
    change_list_template = CHANGE_LIST

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_staff and user.has_perm("recommendations.change_modelversion"))

    @admin.display(description="NDCG@10", ordering="metric")
    def validation_ndcg(self, version: ModelVersion) -> str | None:
        return None if version.metric is None else f"{version.metric:.4f}"

    @admin.display(description="popularity NDCG@10")
    def popularity_ndcg(self, version: ModelVersion) -> str | None:
        value = version.popularity_metric
        return None if value is None else f"{value:.4f}"

    @admin.display(description="compared with (same split)")
    def compared_with(self, version: ModelVersion) -> str | None:
        """The reference the gate measured on this version's split, and its number there."""
        if version.reference is None or version.reference_metric is None:
            return None
        return f"{version.reference.version}: {version.reference_metric:.4f}"

    @admin.action(description="Roll back to this version", permissions=["rollback"])
    def roll_back_to_this_version(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        selected = list(queryset[:2])
        if len(selected) != 1:
            self.message_user(
                request, "Select exactly one version to roll back to.", messages.ERROR
            )
            return None
        target = selected[0]
        confirmed = request.POST.get("confirm_rejected") == "yes"
        if target.status == ModelVersion.Status.REJECTED and not confirmed:
            return TemplateResponse(
                request,
                CONFIRM_REJECTED,
                {
                    **self.admin_site.each_context(request),
                    "opts": self.model._meta,
                    "title": f"Activate {target.version}, which the gate rejected?",
                    "target": target,
                    "warning": rejected_warning(target),
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        previous = ModelVersion.objects.filter(
            scenario=target.scenario, status=ModelVersion.Status.ACTIVE
        ).first()
        try:
            rollback(target.scenario, to=target.pk, force=confirmed)
        except RegistryError as exc:
            self.message_user(request, f"Nothing changed: {exc}.", messages.ERROR)
            return None
        # Admin's history (LogEntry) is where staff look for who changed what the store serves.
        self.log_change(
            request,
            target,
            f"Rolled {target.get_scenario_display()} back to {target.version}"
            + (f" (was {previous.version})" if previous is not None else "")
            + ("; the gate had rejected it, activated on confirmation" if confirmed else "")
            + ".",
        )
        self.message_user(
            request,
            f"{target.get_scenario_display()} now uses {target.version}; its stored lists are "
            "being recomputed.",
            messages.SUCCESS,
        )
        return None

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        recent = list(ModelVersion.objects.exclude(metric=None)[:CHART_VERSIONS])
        context = {**(extra_context or {}), "metric_chart": metric_chart(recent)}
        return super().changelist_view(request, extra_context=context)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "kind",
        "status",
        "message",
        "events_read",
        "event_count",
        "started_at",
        "finished_at",
    )
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in TrainingRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
