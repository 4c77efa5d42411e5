"""Export and erase of a person in admin, and the record of past erasures.

The page (linked from the erasure requests list) takes a user id or a visitor id: *Export* needs
the ``export_personal_data`` permission and downloads the JSON document, *Erase* needs
``erase_personal_data``. Both are thin shells over :mod:`recommendations.privacy`. Erasure
records are read-only: they are the evidence that an erase was carried out and verified.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from recommendations.models import ErasureRequest, Suppression
from recommendations.privacy import ErasureBusy, erase, export

EXPORT_PERMISSION = "recommendations.export_personal_data"
ERASE_PERMISSION = "recommendations.erase_personal_data"


class PersonForm(forms.Form):
    user = forms.IntegerField(required=False, min_value=1, label="User id")
    visitor = forms.CharField(required=False, max_length=64, label="Visitor id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("visitor")):
            raise forms.ValidationError("Give either a user id or a visitor id.")
        return data


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    list_display = ("__str__", "subject_kind", "status", "via", "requested_at", "verified_at")
    list_filter = ("status", "via", "subject_kind")
    readonly_fields = (
        "subject_kind",
        "subject_digest",
        "status",
        "via",
        "requested_by",
        "requested_at",
        "completed_at",
        "verified_at",
        "counts",
        "message",
    )
    change_list_template = "admin/recommendations/erasurerequest/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or _may_act(request)

    def get_urls(self) -> list[URLPattern]:
        person = path(
            "person/",
            self.admin_site.admin_view(self.person_view),
            name="recommendations_erasurerequest_person",
        )
        return [person, *super().get_urls()]

    def person_view(self, request: HttpRequest) -> HttpResponse:
        if not _may_act(request):
            raise PermissionDenied
        form = PersonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            who = {
                "user_id": form.cleaned_data["user"],
                "visitor_id": form.cleaned_data["visitor"] or None,
            }
            if "erase" in request.POST:
                return self._erase(request, who)
            if not request.user.has_perm(EXPORT_PERMISSION):
                raise PermissionDenied
            body = json.dumps(export(**who), indent=2)
            response = HttpResponse(body, content_type="application/json")
            response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": "Export or erase a person",
            "opts": self.model._meta,
            "form": form,
            "may_export": request.user.has_perm(EXPORT_PERMISSION),
            "may_erase": request.user.has_perm(ERASE_PERMISSION),
            "suppressed": Suppression.objects.count(),
        }
        return TemplateResponse(
            request, "admin/recommendations/erasurerequest/person.html", context
        )

    def _erase(self, request: HttpRequest, who: dict[str, Any]) -> HttpResponse:
        if not request.user.has_perm(ERASE_PERMISSION):
            raise PermissionDenied
        try:
            record = erase(**who, via=ErasureRequest.Via.ADMIN, requested_by=request.user, wait=5.0)
        except ErasureBusy as busy:
            self.message_user(request, f"{busy.request}: {busy}", messages.WARNING)
            record = busy.request
        else:
            if record.status == ErasureRequest.Status.COMPLETED:
                self.message_user(request, f"{record}: erased and verified.", messages.SUCCESS)
            else:
                self.message_user(request, f"{record}: {record.message}", messages.ERROR)
        return HttpResponseRedirect(
            reverse("admin:recommendations_erasurerequest_change", args=[record.pk])
        )


def _may_act(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.has_perm(EXPORT_PERMISSION) or user.has_perm(ERASE_PERMISSION))
