"""What each condition kind asks for, checked before a segment is saved.

A condition stores every kind's fields in one row; a kind uses some of them. A missing value is
an error on that field naming what to enter, a category or product the catalogue does not have
is an error naming it (with the closest names), and fields the kind does not use are emptied,
so a saved condition says only what it means.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from recommendations.merchandising.targets import check_category, check_item
from recommendations.models import ConditionKind, SegmentCondition

#: Fields each kind needs, with the error shown when one is empty.
REQUIRED: dict[ConditionKind, dict[str, str]] = {
    ConditionKind.VIEWED_CATEGORY: {
        "category": "Enter the category (C).",
        "count": "Enter how many views (N).",
        "days": "Enter the number of days (D).",
    },
    ConditionKind.CART_ABANDONED: {"hours": "Enter the number of hours (H)."},
    ConditionKind.LAPSED_BUYER: {
        "orders": "Enter the number of orders (K).",
        "days": "Enter the number of days (D).",
    },
    ConditionKind.HIGH_VALUE: {
        "percent": "Enter the share of buyers (P %).",
        "days": "Enter the number of days (D).",
    },
    ConditionKind.VIEWED_ITEM: {
        "item_id": "Choose the product (X).",
        "days": "Enter the number of days (D).",
    },
    ConditionKind.FOR_YOU_CATEGORY: {"category": "Enter the category (C)."},
}
#: Fields a kind may use without needing them: a cart abandoned in the last D days.
OPTIONAL: dict[ConditionKind, set[str]] = {ConditionKind.CART_ABANDONED: {"days"}}
FIELDS = ("category", "item_id", "count", "days", "hours", "orders", "percent")


def used_fields(kind: ConditionKind) -> set[str]:
    return set(REQUIRED[kind]) | OPTIONAL.get(kind, set())


def check_condition(kind: str, values: dict[str, Any]) -> dict[str, str]:
    """Errors by field of a condition of ``kind`` with ``values``; values are normalised in
    place (the catalogue's spelling of a category, unused fields emptied)."""
    try:
        known = ConditionKind(kind)
    except ValueError:
        return {"kind": f'Unknown condition kind "{kind}".'}
    errors: dict[str, str] = {}
    for name, message in REQUIRED[known].items():
        if values.get(name) in (None, ""):
            errors[name] = message
    try:
        if values.get("category"):
            values["category"] = check_category(str(values["category"]))
    except ValidationError as exc:
        errors.setdefault("category", exc.messages[0])
    try:
        if values.get("item_id"):
            values["item_id"] = check_item(str(values["item_id"]).strip()).item_id
    except ValidationError as exc:
        errors.setdefault("item_id", exc.messages[0])
    for name in set(FIELDS) - used_fields(known):
        values[name] = "" if name in ("category", "item_id") else None
    return errors


class SegmentConditionForm(forms.ModelForm):
    """One condition; its kind decides which fields must be filled in."""

    class Meta:
        model = SegmentCondition
        fields = ["kind", *FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if not kind or self.cleaned_data.get("DELETE"):
            return data
        checked = {name: data.get(name) for name in FIELDS if name not in self.errors}
        for name, message in check_condition(kind, checked).items():
            if name not in self.errors:
                self.add_error(name, message)
        for name, value in checked.items():
            if name not in self.errors:
                data[name] = value
        return data


class SegmentConditionFormSet(forms.BaseInlineFormSet):
    """A segment needs at least one condition: without one it would match nobody."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError("Add at least one condition.")
