"""Campaigns in admin: the form refuses content that cannot be shown, the list names segments,
and each campaign has a performance page (daily chart, table, lift against the holdout)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.marketing.campaigns.content import safe_link
from recommendations.marketing.campaigns.performance import campaign_report
from recommendations.models import Campaign, CampaignContent

from . import performance
from .dashboard import chart

#: Product keys one campaign may list.
MAX_ITEMS = 50


class ProductKeysField(forms.Field):
    """Product keys as the merchandiser types them: comma- or line-separated."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = "" if value in self.empty_values else str(value)
        keys = [part.strip() for part in text.replace("\n", ",").split(",")]
        return list(dict.fromkeys(key for key in keys if key))


class CampaignForm(forms.ModelForm):
    item_ids = ProductKeysField(
        label="Products",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Product keys, comma-separated, in the order they are shown.",
    )

    class Meta:
        model = Campaign
        fields = [
            "key", "name", "active", "segments", "content", "headline", "link_url",
            "coupon_code", "item_ids", "slot", "starts_at", "ends_at", "priority",
            "frequency_cap", "holdout_percent",
        ]  # fmt: skip

    def clean_link_url(self) -> str:
        link = self.cleaned_data.get("link_url", "").strip()
        if link and not safe_link(link):
            raise forms.ValidationError(
                "A link is a path on this site (/sale/) or an http(s):// address."
            )
        return link

    def clean_item_ids(self) -> list[str]:
        keys: list[str] = self.cleaned_data.get("item_ids") or []
        if len(keys) > MAX_ITEMS:
            raise forms.ValidationError(f"At most {MAX_ITEMS} products, not {len(keys)}.")
        if keys:
            unknown = [key for key in keys if key not in get_catalog().existing_ids(keys)]
            if unknown:
                raise forms.ValidationError(
                    f"Unknown product{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
                )
        return keys

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        content = data.get("content")
        if content == CampaignContent.BANNER:
            for name, label in (("headline", "banner text"), ("link_url", "link")):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, f"A banner needs its {label}.")
        elif content == CampaignContent.PRODUCTS:
            if not data.get("item_ids") and "item_ids" not in self.errors:
                self.add_error("item_ids", "A product list needs at least one product.")
        elif content == CampaignContent.SLOT and not data.get("slot"):
            self.add_error("slot", "A recommendation slot campaign needs its slot.")
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", f"The campaign ends ({ends}) before it starts ({starts}).")
        if ends and not starts:
            self.add_error("starts_at", "A campaign with an end needs a start.")
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = (
        "name", "key", "content", "audience", "period", "priority", "frequency_cap",
        "holdout_percent", "active", "performance_link",
    )  # fmt: skip
    list_filter = ("active", "content", "segments")
    search_fields = ("name", "key", "headline")
    filter_horizontal = ("segments",)
    fieldsets = (
        (None, {"fields": ("key", "name", "active", "segments")}),
        ("Content", {"fields": ("content", "headline", "link_url", "coupon_code", "item_ids", "slot")}),
        ("When and how often", {"fields": ("starts_at", "ends_at", "priority", "frequency_cap")}),
        ("Measurement", {"fields": ("holdout_percent",)}),
    )  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Campaign]:
        return super().get_queryset(request).prefetch_related("segments")

    @admin.display(description="segments")
    def audience(self, campaign: Campaign) -> str:
        names = [segment.name for segment in campaign.segments.all()]
        return ", ".join(names) if names else "Everyone"

    @admin.display(description="period", ordering="starts_at")
    def period(self, campaign: Campaign) -> str:
        if campaign.starts_at is None:
            return "Not started"
        start = f"{campaign.starts_at:%Y-%m-%d %H:%M}"
        return (
            f"{start} to {campaign.ends_at:%Y-%m-%d %H:%M}" if campaign.ends_at else f"From {start}"
        )

    @admin.display(description="performance")
    def performance_link(self, campaign: Campaign) -> str:
        url = reverse("admin:recommendations_campaign_performance", args=[campaign.pk])
        return format_html('<a href="{}">Performance</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/performance/",
                self.admin_site.admin_view(self.performance_view),
                name="recommendations_campaign_performance",
            ),
            *super().get_urls(),
        ]

    def performance_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Impressions, clicks, orders and revenue per day over a chosen range, and the lift."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        form = performance.RangeForm(request.GET or {"preset": performance.DEFAULT_PRESET})
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Campaign performance: {campaign.name}",
            "campaign": campaign,
            "form": form,
            "currency": app_settings.CURRENCY,
            "window_hours": app_settings.ATTRIBUTION_WINDOW_HOURS,
        }
        if form.is_valid():
            first, last = form.cleaned_data["first"], form.cleaned_data["last"]
            report = campaign_report(campaign.key, *performance.bounds(first, last))
            labels = [row.day.isoformat() for row in report.days]
            context |= {
                "report": report,
                "lift": report.lift,
                "first": first,
                "last": last,
                "daily_chart": chart(
                    "bar",
                    labels,
                    {
                        "Impressions": [row.impressions for row in report.days],
                        "Clicks": [row.clicks for row in report.days],
                        "Orders": [row.orders for row in report.days],
                    },
                ),
            }
        return TemplateResponse(request, "admin/recommendations/campaign/performance.html", context)
