"""Stock and prices in admin: forecasts with their interval, stock warnings, price suggestions.

Pages read the rows the nightly run wrote (``recommendations.insights.nightly``); nothing here
fits a model. A price changes only when someone with the change permission on price
suggestions accepts one, through the catalogue adapter's ``set_price``; every decision is also
an admin ``LogEntry`` on the suggestion.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from recommendations.conf import app_settings
from recommendations.insights import pricing
from recommendations.models import (
    DemandDay,
    DemandForecast,
    PriceSuggestion,
    ProductInsight,
    StockStatus,
)

#: Days of history the product chart shows before the forecast.
HISTORY_CHART_DAYS = 90
#: Rows each warning list shows.
LIST_LENGTH = 50


def _staff(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in staff member (admin views let no one else in)."""
    return cast(AbstractBaseUser, request.user)


class ProductForm(forms.Form):
    """Which product's forecast to show: one the nightly run wrote insights for."""

    item = forms.CharField(label="Product", max_length=64)

    def clean_item(self) -> ProductInsight:
        item_id = self.cleaned_data["item"].strip()
        insight = ProductInsight.objects.filter(item_id=item_id).first()
        if insight is None:
            insight = ProductInsight.objects.filter(title__iexact=item_id).first()
        if insight is None:
            raise forms.ValidationError(
                f"No product {item_id!r} has insights: it is unknown, inactive, or the nightly "
                "forecast has not run since it was added."
            )
        return insight


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    note = forms.CharField(max_length=500, required=False, widget=forms.TextInput)


def product_chart(insight: ProductInsight) -> dict[str, Any]:
    """Units per day for the last days and the forecast with its interval, plus views and
    add-to-carts (the leading signals), as one line chart."""
    first = timezone.localdate() - timedelta(days=HISTORY_CHART_DAYS)
    history = {
        row.day: row for row in DemandDay.objects.filter(item_id=insight.item_id, day__gte=first)
    }
    ahead = list(DemandForecast.objects.filter(item_id=insight.item_id).order_by("day"))
    days = [first + timedelta(days=i) for i in range(HISTORY_CHART_DAYS)]
    days += [row.day for row in ahead if row.day > days[-1]]
    forecast = {row.day: row for row in ahead}
    series: dict[str, list[float | None]] = {
        "units bought": [
            history[d].units if d in history else (0 if d not in forecast else None) for d in days
        ],
        "forecast": [round(forecast[d].yhat, 3) if d in forecast else None for d in days],
        "interval low": [round(forecast[d].lo, 3) if d in forecast else None for d in days],
        "interval high": [round(forecast[d].hi, 3) if d in forecast else None for d in days],
        "views": [history[d].views if d in history else None for d in days],
        "add-to-carts": [history[d].carts if d in history else None for d in days],
    }
    return {
        "type": "line",
        "labels": [day.isoformat() for day in days],
        "datasets": [{"label": label, "data": data} for label, data in series.items()],
    }


@admin.register(ProductInsight)
class ProductInsightAdmin(admin.ModelAdmin):
    """Every product's latest nightly result; the overview and product pages hang off it."""

    list_display = (
        "title",
        "category",
        "status",
        "stock",
        "days_left_shown",
        "daily_rate",
        "method",
        "forecast_link",
    )
    list_display_links = None
    list_filter = ("status", "demand_class", "method")
    search_fields = ("title", "=item_id", "category")
    change_list_template = "admin/recommendations/productinsight/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="days of stock left", ordering="days_left")
    def days_left_shown(self, obj: ProductInsight) -> str:
        return "—" if obj.days_left is None else f"{obj.days_left:.1f}"

    @admin.display(description="")
    def forecast_link(self, obj: ProductInsight) -> str:
        url = reverse("admin:recommendations_insights_product")
        return format_html('<a href="{}?item={}">Forecast</a>', url, obj.item_id)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "overview/",
                self.admin_site.admin_view(self.overview_view),
                name="recommendations_insights",
            ),
            path(
                "product/",
                self.admin_site.admin_view(self.product_view),
                name="recommendations_insights_product",
            ),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "currency": app_settings.CURRENCY or "",
        }

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """Products about to run out (soonest first), overstock (most weeks first), and the
        pending price suggestions."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        insights = ProductInsight.objects.all()
        running_out = insights.filter(status=StockStatus.RUNNING_OUT).order_by("days_left")
        overstock = insights.filter(status=StockStatus.OVERSTOCK).order_by("-stock")
        latest = insights.order_by("-computed_at").values_list("computed_at", flat=True).first()
        context = {
            **self._context(request, "Stock and prices"),
            "form": ProductForm(),
            "running_out": list(running_out[:LIST_LENGTH]),
            "running_out_total": running_out.count(),
            "overstock": list(overstock[:LIST_LENGTH]),
            "overstock_total": overstock.count(),
            "sold_out_total": insights.filter(status=StockStatus.SOLD_OUT).count(),
            "pending": list(
                PriceSuggestion.objects.filter(status=PriceSuggestion.Status.PENDING)[:LIST_LENGTH]
            ),
            "computed_at": latest,
            "lead_days": app_settings.RESTOCK_LEAD_DAYS,
            "overstock_weeks": app_settings.OVERSTOCK_WEEKS,
            "ranking_on": app_settings.STOCK_AWARE_RANKING,
            "can_decide": request.user.has_perm("recommendations.change_pricesuggestion"),
        }
        return TemplateResponse(
            request, "admin/recommendations/productinsight/overview.html", context
        )

    def product_view(self, request: HttpRequest) -> HttpResponse:
        """One product's history and forecast; an unknown product is a form error."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ProductForm(request.GET)
        context = self._context(request, "Product forecast")
        context["form"] = form
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/recommendations/productinsight/product.html",
                context,
                status=400 if request.GET else 200,
            )
        insight: ProductInsight = form.cleaned_data["item"]
        context.update(
            form=ProductForm(initial={"item": insight.title or insight.item_id}),
            title=f"Forecast: {insight}",
            insight=insight,
            product_chart=product_chart(insight),
            weeks_left=None if insight.days_left is None else insight.days_left / 7,
            suggestions=list(PriceSuggestion.objects.filter(item_id=insight.item_id)[:20]),
            can_decide=request.user.has_perm("recommendations.change_pricesuggestion"),
        )
        return TemplateResponse(
            request, "admin/recommendations/productinsight/product.html", context
        )


@admin.register(PriceSuggestion)
class PriceSuggestionAdmin(admin.ModelAdmin):
    """The log of every suggestion; pending ones are accepted or rejected here."""

    list_display = (
        "title",
        "direction",
        "old_price",
        "new_price",
        "change_shown",
        "status",
        "created_at",
        "decided_by",
        "decide_link",
    )
    list_filter = ("status", "direction")
    search_fields = ("title", "=item_id")
    list_select_related = ("decided_by",)
    actions = ("reject_selected",)
    readonly_fields = [f.name for f in PriceSuggestion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="change")
    def change_shown(self, obj: PriceSuggestion) -> str:
        return f"{obj.change_pct:+.1f} %"

    @admin.display(description="")
    def decide_link(self, obj: PriceSuggestion) -> str:
        if obj.status != PriceSuggestion.Status.PENDING:
            return ""
        url = reverse("admin:recommendations_pricesuggestion_decide", args=[obj.pk])
        return format_html('<a href="{}">Decide</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="recommendations_pricesuggestion_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Accept (apply through the adapter) or reject one pending suggestion."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        suggestion = get_object_or_404(PriceSuggestion, pk=pk)
        form = DecisionForm(request.POST) if request.method == "POST" else DecisionForm()
        status = 200
        if request.method == "POST":
            if form.is_valid():
                decide = (
                    pricing.accept if form.cleaned_data["decision"] == "accept" else pricing.reject
                )
                try:
                    decided = decide(suggestion.pk, _staff(request), form.cleaned_data["note"])
                except pricing.DecisionError as exc:
                    form.add_error(None, str(exc))
                    status = 409
                else:
                    messages.success(
                        request,
                        f"{decided.get_status_display().capitalize()}: {decided.title} "
                        f"{decided.old_price} → {decided.new_price}.",
                    )
                    return HttpResponseRedirect(
                        reverse("admin:recommendations_pricesuggestion_changelist")
                    )
            else:
                status = 400
            suggestion.refresh_from_db()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Decide: {suggestion}",
            "suggestion": suggestion,
            "form": form,
            "evidence": sorted(suggestion.evidence.items()),
            "currency": app_settings.CURRENCY or "",
        }
        return TemplateResponse(
            request, "admin/recommendations/pricesuggestion/decide.html", context, status=status
        )

    @admin.action(description="Reject the selected pending suggestions", permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[PriceSuggestion]) -> None:
        rejected = 0
        for suggestion in queryset.filter(status=PriceSuggestion.Status.PENDING):
            pricing.reject(suggestion.pk, _staff(request))
            rejected += 1
        self.message_user(request, f"Rejected {rejected} suggestion(s).", messages.SUCCESS)
