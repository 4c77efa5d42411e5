"""Merchandiser rules in admin: each row reads as a sentence, with when and where it applies."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from recommendations.catalog import get_catalog
from recommendations.models import Rule


class WindowFilter(admin.SimpleListFilter):
    """Rules by where ``now`` falls in their time window, whether or not they are active."""

    title = "time window"
    parameter_name = "window"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("current", "Current"), ("scheduled", "Not started yet"), ("ended", "Ended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Rule]) -> QuerySet[Rule]:
        now = timezone.now()
        if self.value() == "current":
            return queryset.filter(
                Q(starts_at__isnull=True) | Q(starts_at__lte=now),
                Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            )
        if self.value() == "scheduled":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("name", "summary", "where", "schedule", "status", "updated")
    list_filter = ("action", "slot", "active", WindowFilter)
    search_fields = ("name", "=item_id", "category", "brand")
    # Grouped by slot, pins in position order, and within a position the older (winning) rule first.
    ordering = ("slot", "action", "position", "created")
    readonly_fields = ("created", "updated", "created_by")
    actions = ("activate", "deactivate")
    fieldsets = [
        (None, {"fields": ["name", "action", "active"]}),
        (
            "Target",
            {
                "description": "Exactly one: an item, a category, a brand or a price range "
                "(either bound may stay empty; both are inclusive).",
                "fields": ["item_id", "category", "brand", ("min_price", "max_price")],
            },
        ),
        (
            "Placement",
            {
                "description": "Exclude wins over pin; pins are placed before boost and bury "
                "reorder the rest. Of two pins for one position the older one wins.",
                "fields": ["slot", "position", "weight"],
            },
        ),
        ("Schedule", {"fields": [("starts_at", "ends_at")]}),
        ("History", {"fields": [("created", "updated"), "created_by"], "classes": ["collapse"]}),
    ]

    @admin.display(description="rule")
    def summary(self, rule: Rule) -> str:
        return rule.summary

    @admin.display(description="slot", ordering="slot")
    def where(self, rule: Rule) -> str:
        return rule.get_slot_display() or "Every slot"

    @admin.display(description="when")
    def schedule(self, rule: Rule) -> str:
        if rule.starts_at and rule.ends_at:
            return f"{_when(rule.starts_at)} to {_when(rule.ends_at)}"
        if rule.starts_at:
            return f"From {_when(rule.starts_at)}"
        if rule.ends_at:
            return f"Until {_when(rule.ends_at)}"
        return "Always"

    @admin.display(description="status")
    def status(self, rule: Rule) -> str:
        now = timezone.now()
        if not rule.active:
            return "Off"
        if rule.starts_at and now < rule.starts_at:
            return "Scheduled"
        if rule.ends_at and rule.ends_at <= now:
            return "Ended"
        return "Live"

    def save_model(self, request: HttpRequest, obj: Rule, form: ModelForm, change: bool) -> None:
        if not change and request.user.is_authenticated:  # always, in the admin
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if obj.item_id and not get_catalog().existing_ids([obj.item_id]):
            self.message_user(
                request,
                f"No product has the item id {obj.item_id!r} yet; the rule applies once one does.",
                messages.WARNING,
            )

    @admin.action(description="Activate selected rules")
    def activate(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description="Deactivate selected rules")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Rule], *, active: bool) -> None:
        # Saved one by one, so that ``updated`` moves and the serving cache hears of it; each
        # change goes into admin's history, as an edit through the form does.
        changed = 0
        state = "activated" if active else "deactivated"
        for rule in queryset.exclude(active=active):
            rule.active = active
            rule.save(update_fields=["active", "updated"])
            self.log_change(request, rule, f"Rule {state} (bulk action).")
            changed += 1
        self.message_user(request, f"{changed} rule{'' if changed == 1 else 's'} {state}.")


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
