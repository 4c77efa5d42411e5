"""Experiments in admin: the experiment with its variants inline, a results page with a chart,
and "stop and ship" per variant. Thin: the numbers come from ``experiments.results``, the
decision from ``experiments.decisions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ForeignKey, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from recommendations.experiments.decisions import ShipRefused, ship
from recommendations.experiments.results import Analysis, experiment_results
from recommendations.models import Experiment, ExperimentVariant, ModelVersion, VariantKind
from recommendations.models.experiments import SLOT_CHOICES
from recommendations.types import Scenario

_PLAN_FIELDS = (
    "key",
    "slots",
    "baseline_conversion",
    "minimum_detectable_effect",
    "alpha",
    "power",
)
_DECISION_FIELDS = ("shipped_variant", "decision", "decided_at", "decided_by")


class ExperimentForm(forms.ModelForm):
    slots = forms.MultipleChoiceField(choices=SLOT_CHOICES, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Experiment
        fields = (
            "name",
            "hypothesis",
            "starts_at",
            "stops_at",
            *_PLAN_FIELDS,
        )


class VariantFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            return
        controls = sum(1 for data in kept if data.get("kind") == VariantKind.CONTROL)
        if len(kept) < 2 or controls != 1:
            raise ValidationError(
                "An experiment needs exactly one control and at least one other variant."
            )


class VariantInline(admin.TabularInline):
    model = ExperimentVariant
    formset = VariantFormSet
    fields = ("key", "name", "kind", "weight", "model_version")
    extra = 2

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "model_version":
            kwargs["queryset"] = ModelVersion.objects.filter(scenario=Scenario.FOR_YOU)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # Once visitors were exposed, changing the arms or the split would corrupt the analysis.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.has_started) and super().has_change_permission(
            request, obj
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.has_started) and super().has_add_permission(
            request, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not (obj is not None and obj.has_started) and super().has_delete_permission(
            request, obj
        )


@dataclass(frozen=True)
class Interval:
    """One variant's relative conversion lift with its interval, in chart coordinates."""

    name: str
    y: float
    low_x: float
    high_x: float
    point_x: float
    colour: str
    label: str


@dataclass(frozen=True)
class IntervalChart:
    intervals: list[Interval]
    width: int
    height: int
    zero_x: float
    low: str
    high: str


def lift_chart(analysis: Analysis, width: int = 720, row: int = 28) -> IntervalChart | None:
    """Each variant's relative conversion lift over the control with its interval, around a
    line at zero: an interval clear of the line is a significant difference."""
    rows = [
        (v.name, c)
        for v in analysis.treatments
        if (c := v.conversion) is not None
        and c.enough_data
        and c.relative is not None
        and c.relative_low is not None
        and c.relative_high is not None
    ]
    if not rows:
        return None
    low = min(0.0, *(c.relative_low or 0.0 for _, c in rows))
    high = max(0.0, *(c.relative_high or 0.0 for _, c in rows))
    span = (high - low) or 1.0
    margin = 10

    def x(value: float) -> float:
        return round(margin + (value - low) / span * (width - 2 * margin), 1)

    intervals = [
        Interval(
            name=name,
            y=row * i + row / 2,
            low_x=x(c.relative_low or 0.0),
            high_x=x(c.relative_high or 0.0),
            point_x=x(c.relative or 0.0),
            colour="#5b8c3a"
            if c.significant and c.difference > 0
            else "#ba2121"
            if c.significant
            else "#417690",
            label=f"{name}: {c.relative or 0:+.1%} ({c.relative_low or 0:+.1%} to "
            f"{c.relative_high or 0:+.1%})",
        )
        for i, (name, c) in enumerate(rows)
    ]
    return IntervalChart(intervals, width, row * len(rows), x(0.0), f"{low:+.0%}", f"{high:+.0%}")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = (VariantInline,)
    list_display = ("name", "key", "slot_names", "state", "starts_at", "stops_at", "results_link")
    search_fields = ("name", "key")
    readonly_fields = (*_DECISION_FIELDS,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and obj.has_started:
            return (*_PLAN_FIELDS, *_DECISION_FIELDS)
        return _DECISION_FIELDS

    @admin.display(description="slots")
    def slot_names(self, experiment: Experiment) -> str:
        return ", ".join(experiment.slots)

    @admin.display(description="state")
    def state(self, experiment: Experiment) -> str:
        if experiment.decided_at is not None:
            shipped = experiment.shipped_variant
            return f"decided: {shipped.name}" if shipped else "decided"
        if experiment.is_running():
            return "running"
        return "stopped" if experiment.has_started else "not started"

    @admin.display(description="results")
    def results_link(self, experiment: Experiment) -> str:
        url = reverse("admin:recommendations_experiment_results", args=[experiment.pk])
        return format_html('<a href="{}">Results</a>', url)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/results/",
                self.admin_site.admin_view(self.results_view),
                name="recommendations_experiment_results",
            ),
            path(
                "<int:pk>/ship/",
                self.admin_site.admin_view(self.ship_view),
                name="recommendations_experiment_ship",
            ),
        ]
        return own + super().get_urls()

    def results_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        experiment = get_object_or_404(Experiment, pk=pk)
        if not self.has_view_permission(request, experiment):
            raise PermissionDenied
        analysis = experiment_results(experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Results: {experiment.name}",
            "experiment": experiment,
            "analysis": analysis,
            "chart": lift_chart(analysis),
            "can_ship": self.has_change_permission(request, experiment)
            and experiment.has_started
            and experiment.decided_at is None,
        }
        return TemplateResponse(request, "admin/recommendations/experiment/results.html", context)

    def ship_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        experiment = get_object_or_404(Experiment, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, experiment):
            raise PermissionDenied
        variant = get_object_or_404(
            ExperimentVariant, experiment=experiment, key=request.POST.get("variant_key", "")
        )
        try:
            self.message_user(request, ship(experiment, variant, request.user), messages.SUCCESS)
        except ShipRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(
            reverse("admin:recommendations_experiment_results", args=[experiment.pk])
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("shipped_variant")
