"""Merchandiser rules in admin: each row reads as a sentence, with when and where it applies.

A merchandiser picks a rule's target instead of typing it (a product picker over the catalogue,
category and brand names the catalogue has), tries the rule on a slot before saving it, and finds
every change in its history with who made it and a revert. The views are thin: the previews are
:mod:`recommendations.serving.preview`, the target checks :mod:`recommendations.merchandising.targets`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteMixin, get_select2_language
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from simple_history.admin import SimpleHistoryAdmin

from recommendations.catalog import get_catalog
from recommendations.merchandising.loading import spec_of
from recommendations.merchandising.targets import check_brand, check_category, check_item
from recommendations.models import Rule
from recommendations.serving import preview
from recommendations.serving.pipeline import UnknownItem
from recommendations.types import Slot

#: The permission that lets staff see another person's recommendations (as the API's ``as_user``).
PREVIEW_PERMISSION = "recommendations.preview_as_user"
_SLOT_CHOICES = [(slot.value, slot.label) for slot in Slot]


class ProductPicker(forms.Select):
    """Admin's own select2 (the one ``autocomplete_fields`` uses), searching the catalogue.

    ``autocomplete_fields`` needs a foreign key; a rule names its product by key as text (the
    product model is the host's), so the picker asks :meth:`RuleAdmin.products_view`, which
    searches through the catalogue adapter, and shows the chosen product by name.
    """

    def __init__(self, attrs: dict[str, Any] | None = None, *, multiple: bool = False) -> None:
        super().__init__(attrs)
        self.allow_multiple_selected = multiple
        self.i18n_name = get_select2_language()

    def build_attrs(
        self, base_attrs: dict[str, Any], extra_attrs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs.update(
            {
                "class": (attrs.get("class", "") + " admin-autocomplete").strip(),
                "data-ajax--cache": "true",
                "data-ajax--delay": 250,
                "data-ajax--type": "GET",
                "data-ajax--url": reverse("admin:recommendations_rule_products"),
                "data-theme": "admin-autocomplete",
                "data-allow-clear": json.dumps(not self.is_required),
                "data-placeholder": "Search by name or SKU",
                "lang": self.i18n_name,
                "style": "width: 30em",
            }
        )
        return attrs

    def optgroups(
        self, name: str, value: list[Any], attrs: dict[str, Any] | None = None
    ) -> list[tuple[str | None, list[dict[str, Any]], int | None]]:
        """Only the chosen products, by name; the rest are searched as the merchandiser types."""
        chosen = [str(v) for v in value if v not in ("", None)]
        infos = get_catalog().describe(chosen) if chosen else {}
        options = (
            [] if self.allow_multiple_selected else [self.create_option(name, "", "", False, 0)]
        )
        for index, item_id in enumerate(chosen, 1):
            label = _product_label(infos[item_id]) if item_id in infos else item_id
            options.append(self.create_option(name, item_id, label, True, index))
        return [(None, options, 0)]

    @property
    def media(self) -> forms.Media:
        return AutocompleteMixin.media.fget(self)  # type: ignore[attr-defined]


class NameInput(forms.TextInput):
    """A text box offering the catalogue's names (an HTML ``datalist``): typing stays possible,
    so that a misspelling reaches validation and gets a "did you mean" instead of a bare
    "not a valid choice"."""

    def __init__(self, names: Any, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.names = names

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id', name)}_names"
        box = super().render(name, value, {**(attrs or {}), "list": list_id}, renderer)
        options = format_html_join("", '<option value="{}">', ((n,) for n in self.names()))
        return format_html('{}<datalist id="{}">{}</datalist>', box, list_id, options)


class RuleForm(forms.ModelForm):
    """The rule form: targets checked against the catalogue, plus what to try the rule on."""

    try_slot = forms.ChoiceField(
        label="slot", choices=[("", "The rule's slot"), *_SLOT_CHOICES], required=False
    )
    try_item = forms.CharField(
        label="on the page of", required=False, widget=ProductPicker(), help_text="Optional."
    )
    try_person = forms.CharField(
        label="for",
        required=False,
        help_text="Optional: an e-mail, username or visitor id (needs the preview permission). "
        "Empty: an anonymous visitor.",
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "action",
            "active",
            "item_id",
            "category",
            "brand",
            "min_price",
            "max_price",
            "slot",
            "position",
            "weight",
            "starts_at",
            "ends_at",
        ]
        labels = {"item_id": "product"}
        help_texts = {"item_id": "Search by name or SKU; the rule stores the product's key."}
        widgets = {
            "item_id": ProductPicker(),
            "category": NameInput(lambda: get_catalog().categories()),
            "brand": NameInput(lambda: get_catalog().brands()),
        }

    def clean_item_id(self) -> str:
        item_id: str = self.cleaned_data["item_id"].strip()
        return check_item(item_id).item_id if item_id else ""

    def clean_category(self) -> str:
        category: str = self.cleaned_data["category"].strip()
        return check_category(category) if category else ""

    def clean_brand(self) -> str:
        brand: str = self.cleaned_data["brand"].strip()
        return check_brand(brand) if brand else ""

    def clean_try_item(self) -> str:
        item_id: str = self.cleaned_data["try_item"].strip()
        return check_item(item_id).item_id if item_id else ""

    def _update_errors(self, errors: ValidationError) -> None:
        """A target the catalogue refused keeps only that error: the model, seeing the field
        empty, would add "enter its item id" to a field the merchandiser did fill in."""
        if hasattr(errors, "error_dict"):
            refused = {"item_id", "category", "brand"} & set(self.errors)
            kept = {f: e for f, e in errors.error_dict.items() if f not in refused}
            if not kept:
                return
            errors = ValidationError(kept)
        super()._update_errors(errors)  # type: ignore[misc]


class ItemsField(forms.MultipleChoiceField):
    """Product keys picked with a :class:`ProductPicker`: searched, not listed as choices, so
    any key passes here and the form checks it against the catalogue."""

    def valid_value(self, value: str) -> bool:
        return True


class PreviewForm(forms.Form):
    """Whose lists to show: a search, or a user / visitor already chosen; optionally a product
    page and a cart."""

    q = forms.CharField(label="Customer", required=False)
    user = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    visitor = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    item = forms.CharField(label="On the page of", required=False, widget=ProductPicker())
    cart = ItemsField(label="With in the cart", required=False, widget=ProductPicker(multiple=True))

    def clean_item(self) -> str:
        item_id: str = self.cleaned_data["item"].strip()
        return check_item(item_id).item_id if item_id else ""

    def clean_cart(self) -> list[str]:
        """Any existing product (the choices are searched, not listed)."""
        return [check_item(item_id).item_id for item_id in self.cleaned_data["cart"]]


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


class RuleChangeList(ChangeList):
    """The rule list, with the products of a page's pins named in one catalogue query."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rules: Iterable[Rule] = self.result_list
        infos = get_catalog().describe({rule.item_id for rule in rules if rule.item_id})
        for rule in rules:
            info = infos.get(rule.item_id)
            rule.item_title = info.title if info is not None else ""  # type: ignore[attr-defined]


@admin.register(Rule)
class RuleAdmin(SimpleHistoryAdmin):
    form = RuleForm
    change_form_template = "admin/recommendations/rule/change_form.html"
    change_list_template = "admin/recommendations/rule/change_list.html"
    list_display = ("name", "summary", "where", "schedule", "status", "updated")
    list_filter = ("action", "slot", "active", WindowFilter)
    search_fields = ("name", "=item_id", "category", "brand")
    # Grouped by slot, pins in position order, and within a position the older (winning) rule first.
    ordering = ("slot", "action", "position", "created")
    readonly_fields = ("created", "updated", "created_by")
    actions = ("activate", "deactivate")
    history_list_display = ("summary", "active")
    fieldsets = [
        (None, {"fields": ["name", "action", "active"]}),
        (
            "Target",
            {
                "description": "Exactly one: a product, a category, a brand or a price range "
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
        (
            "Try it before saving",
            {
                "description": "“Preview the effect” shows the slot with and without this rule, "
                "as the form stands, in a new tab. Nothing is saved.",
                "fields": [("try_slot", "try_item", "try_person")],
            },
        ),
        ("History", {"fields": [("created", "updated"), "created_by"], "classes": ["collapse"]}),
    ]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("products/", view(self.products_view), name="recommendations_rule_products"),
            path("effect/", view(self.effect_view), name="recommendations_rule_effect"),
            path("preview/", view(self.preview_view), name="recommendations_preview"),
            *super().get_urls(),
        ]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RuleChangeList

    @admin.display(description="rule")
    def summary(self, rule: Rule) -> str:
        # The history list passes a historical record; its ``instance`` is the rule as it was.
        rule = getattr(rule, "instance", rule)
        title = getattr(rule, "item_title", None)  # set for a whole page by RuleChangeList
        return rule.sentence(_title(rule.item_id) if title is None else title)

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

    def save_model(
        self, request: HttpRequest, obj: Rule, form: forms.ModelForm, change: bool
    ) -> None:
        if not change and request.user.is_authenticated:  # always, in the admin
            obj.created_by = request.user
        super().save_model(request, obj, form, change)  # records the history with the user

    @admin.action(description="Activate selected rules")
    def activate(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description="Deactivate selected rules")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Rule], *, active: bool) -> None:
        # Saved one by one, so that ``updated`` moves, the serving cache hears of it and the
        # rule's history records who switched it; each change goes into admin's log too.
        changed = 0
        state = "activated" if active else "deactivated"
        for rule in queryset.exclude(active=active):
            rule.active = active
            rule._history_user = request.user  # type: ignore[attr-defined]
            rule.save(update_fields=["active", "updated"])
            self.log_change(request, rule, f"Rule {state} (bulk action).")
            changed += 1
        self.message_user(request, f"{changed} rule{'' if changed == 1 else 's'} {state}.")

    # --- Views ------------------------------------------------------------------------------------

    def products_view(self, request: HttpRequest) -> JsonResponse:
        """The product picker's search, in select2's format (as admin's autocomplete view)."""
        if not (self.has_view_permission(request) or self.has_add_permission(request)):
            raise PermissionDenied
        found = get_catalog().search(request.GET.get("term", ""), limit=20)
        return JsonResponse(
            {
                "results": [{"id": info.item_id, "text": _product_label(info)} for info in found],
                "pagination": {"more": False},
            }
        )

    def effect_view(self, request: HttpRequest) -> HttpResponse:
        """The rule form as it stands (POSTed here by its "Preview the effect" button), applied
        to a slot beside the slot without it. Nothing is saved."""
        if request.method != "POST":
            raise PermissionDenied
        rule_id = request.POST.get("_rule")
        obj = get_object_or_404(Rule, pk=rule_id) if rule_id else None
        allowed = (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        )
        if not allowed:
            raise PermissionDenied
        form = self.get_form(request, obj)(request.POST, instance=obj)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Effect of the rule (not saved)",
            "form": form,
        }
        if form.is_valid():
            rule = form.save(commit=False)  # an unsaved copy: the database keeps its version
            slot = Slot(form.cleaned_data["try_slot"] or rule.slot or Slot.FOR_YOU)
            person = self._person(request, form.cleaned_data["try_person"])
            item_id = form.cleaned_data["try_item"] or None
            context.update(
                rule=rule,
                summary=rule.sentence(_title(rule.item_id)),
                person=person,
                item=_describe(item_id),
                applies=not rule.slot or rule.slot == slot,
                live=spec_of(rule).is_live(timezone.now()) and rule.active,
                comparison=preview.rule_effect(
                    spec_of(rule), slot, person.audience(), item_id=item_id
                ),
            )
            if person.user_id is not None or person.visitor_id:
                preview.log_preview(request.user, person, f"{slot.value} with an unsaved rule")  # type: ignore[arg-type]
        return TemplateResponse(request, "admin/recommendations/rule/effect.html", context)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """A person's recent history and every slot as they would get it now, each beside the
        list without rules; on a product page and with a cart when chosen."""
        if not request.user.has_perm(PREVIEW_PERMISSION):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Preview as a customer",
            "form": form,
            "media": self.media + form.media,
        }
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            person = self._chosen(data)
            if person is None and data["q"]:
                people = preview.find_people(data["q"])
                if len(people) == 1:
                    person = people[0]
                context["people"] = [(p, self._link(request, p)) for p in people]
            if person is not None or data["item"] or data["cart"]:
                person = person or preview.Person("An anonymous visitor")
                try:
                    comparisons = preview.preview_person(
                        person.audience(data["cart"]), item_id=data["item"] or None
                    )
                except UnknownItem as exc:  # deleted between validation and now
                    form.add_error("item", ValidationError(str(exc)))
                else:
                    context.update(
                        person=person,
                        comparisons=comparisons,
                        history=preview.recent_history(person),
                        item=_describe(data["item"] or None),
                        cart=[info for i in data["cart"] if (info := _describe(i))],
                    )
                    if person.user_id is not None or person.visitor_id:
                        preview.log_preview(request.user, person)  # type: ignore[arg-type]
        return TemplateResponse(request, "admin/recommendations/preview.html", context)

    def _chosen(self, data: dict[str, Any]) -> preview.Person | None:
        if data["user"]:
            from django.contrib.auth import get_user_model

            user = get_user_model()._default_manager.filter(pk=data["user"]).first()
            return preview.person_of_user(user) if user is not None else None
        if data["visitor"]:
            return preview.Person(f"Visitor {data['visitor']}", visitor_id=data["visitor"])
        return None

    def _person(self, request: HttpRequest, query: str) -> preview.Person:
        """The person a rule is tried for: an anonymous visitor unless staff may preview people."""
        if not query:
            return preview.Person("An anonymous visitor")
        if not request.user.has_perm(PREVIEW_PERMISSION):
            raise PermissionDenied
        people = preview.find_people(query, limit=1)
        return people[0] if people else preview.Person("An anonymous visitor")

    def _link(self, request: HttpRequest, person: preview.Person) -> str:
        params = request.GET.copy()
        params.pop("q", None)
        if person.user_id is not None:
            params["user"] = str(person.user_id)
        else:
            params["visitor"] = person.visitor_id or ""
        return f"{reverse('admin:recommendations_preview')}?{params.urlencode()}"


def _product_label(info: Any) -> str:
    details = " · ".join(part for part in (info.category, info.brand) if part)
    return f"{info.title} ({info.item_id})" + (f" · {details}" if details else "")


def _describe(item_id: str | None) -> Any:
    return get_catalog().describe([item_id]).get(item_id) if item_id else None


def _title(item_id: str) -> str:
    info = _describe(item_id)
    return info.title if info is not None else ""


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
