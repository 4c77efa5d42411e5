"""Fraud and risk in admin: the review queue, each rule's settings with its precision, and the
badge that tells staff what waits for them.

The queue lists open assessments first (held orders before reviews, highest score first) by the
person or order they are about; an assessment's page reads its rules as sentences beside the
checkout attempts that explain them, and records a confirmation or dismissal with a reason and
a note. The decisions themselves are :mod:`recommendations.fraud.review`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.fraud import review
from recommendations.fraud.rules import DEFAULTS, HELP
from recommendations.models import (
    CheckoutAttempt,
    DecisionReason,
    ReviewStatus,
    RiskAssessment,
    RiskLevel,
    RiskRule,
    RiskRuleCode,
    RiskSubject,
)

from .charts import CHART_DAYS, last_days
from .dashboard import chart

QUEUE_URL = "admin:recommendations_riskassessment_changelist"
DECISIONS = {"confirm": ReviewStatus.CONFIRMED, "dismiss": ReviewStatus.DISMISSED}


class DecisionForm(forms.Form):
    """Confirm or dismiss (the button pressed), why, and a note for whoever looks next."""

    decision = forms.ChoiceField(
        choices=[("confirm", "Confirm fraud or bot"), ("dismiss", "Dismiss: not fraud")],
        error_messages={"required": "Choose to confirm or to dismiss."},
    )
    reason = forms.ChoiceField(
        choices=[("", "---------"), *DecisionReason.choices],
        error_messages={"required": "A decision needs a reason: choose one."},
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=2000,
        help_text="Optional: what you checked, for whoever looks at this next.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision, reason = data.get("decision"), data.get("reason")
        if decision and reason:
            try:
                review.check_reason(DECISIONS[decision], reason)
            except review.DecisionError as exc:
                self.add_error(exc.field, str(exc))
        return data


# --- Names, not ids --------------------------------------------------------------------------------


def order_labels(order_ids: Iterable[str]) -> dict[str, str]:
    """The store's names of orders (the catalogue adapter's ``order_labels``)."""
    ids = [order_id for order_id in order_ids if order_id]
    return {str(k): str(v) for k, v in get_catalog().order_labels(ids).items()} if ids else {}


def order_emails(order_ids: Iterable[str]) -> dict[str, str]:
    """The e-mail given with each order, from its checkout attempt."""
    rows = (
        CheckoutAttempt.objects.filter(order_id__in=list(order_ids))
        .exclude(email="")
        .values_list("order_id", "email")
    )
    return dict(rows)


def person_name(user: Any, visitor_id: str = "") -> str:
    if user is not None:
        email = getattr(user, "email", "")
        username = user.get_username()
        return f"{username} ({email})" if email and email != username else username
    return f"Visitor {visitor_id}" if visitor_id else "Unknown visitor"


def subject_name(assessment: RiskAssessment, labels: dict[str, str], emails: dict[str, str]) -> str:
    """ "Order W2612-1A2B (#12) · ann@example.com", "ann (ann@example.com)", "Visitor 3f…"."""
    if assessment.subject == RiskSubject.ORDER:
        label = labels.get(assessment.key)
        name = f"Order {label} (#{assessment.key})" if label else f"Order #{assessment.key}"
        email = emails.get(assessment.key) or getattr(assessment.user, "email", "")
        return f"{name} · {email}" if email else name
    return person_name(assessment.user, assessment.visitor_id)


def describe(assessment: RiskAssessment) -> str:
    keys = [assessment.key] if assessment.subject == RiskSubject.ORDER else []
    return subject_name(assessment, order_labels(keys), order_emails(keys))


class QueueChangeList(ChangeList):
    """The queue's page, with its orders named by the store and their e-mails in two queries."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        page: list[RiskAssessment] = list(self.result_list)
        keys = [a.key for a in page if a.subject == RiskSubject.ORDER]
        labels, emails = (order_labels(keys), order_emails(keys)) if keys else ({}, {})
        for assessment in page:
            assessment.subject_name = subject_name(assessment, labels, emails)  # type: ignore[attr-defined]


# --- The review queue ------------------------------------------------------------------------------


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(admin.ModelAdmin):
    change_list_template = "admin/recommendations/riskassessment/change_list.html"
    list_display = ("who", "score", "level", "status", "rules", "scored_at", "decision")
    list_display_links = ("who",)
    list_filter = ("status", "level", "subject")
    search_fields = ("=key", "=visitor_id", "user__username", "user__email")
    list_select_related = ("user", "reviewed_by")
    actions = ("decide_selected",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # assessments are scored, not typed in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a decision is the audit trail: it stays

    def get_queryset(self, request: HttpRequest) -> QuerySet[RiskAssessment]:
        # Annotated before admin orders by the annotations (``get_ordering``).
        queryset = RiskAssessment.objects.select_related("user", "reviewed_by")
        return review.in_queue_order(queryset)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[RiskAssessment], search_term: str
    ) -> tuple[QuerySet[RiskAssessment], bool]:
        """Also orders by the e-mail given at checkout (a guest has no account to search)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip().lower()
        if "@" in term:
            orders = CheckoutAttempt.objects.filter(email=term).exclude(order_id="")
            found |= queryset.filter(
                subject=RiskSubject.ORDER, key__in=orders.values_list("order_id", flat=True)
            )
        return found, may_have_duplicates

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        return review.QUEUE_ORDERING

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    @admin.display(description="order or visitor")
    def who(self, assessment: RiskAssessment) -> str:
        return getattr(assessment, "subject_name", None) or describe(assessment)

    @admin.display(description="contributing rules")
    def rules(self, assessment: RiskAssessment) -> str:
        return "; ".join(review.rule_sentences(assessment.reasons)) or "—"

    @admin.display(description="decision", ordering="reviewed_at")
    def decision(self, assessment: RiskAssessment) -> str:
        decided = assessment.status in (ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED)
        if not decided or assessment.reviewed_at is None:
            return "—"
        by = person_name(assessment.reviewed_by) if assessment.reviewed_by else "someone"
        when = date_format(timezone.localtime(assessment.reviewed_at), "SHORT_DATETIME_FORMAT")
        return f"{assessment.get_decision_reason_display()}, by {by} on {when}"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        days = last_days(CHART_DAYS)
        labels = [day.isoformat() for day in days]
        flags = review.daily_flags(days)
        decided = review.daily_decisions(days)
        context = {
            **(extra_context or {}),
            "title": "Risk review queue",
            "chart_days": CHART_DAYS,
            "flag_chart": chart(
                "bar",
                labels,
                {
                    RiskLevel(level).label: [flags.get(level, {}).get(day, 0) for day in days]
                    for level in (RiskLevel.REVIEW, RiskLevel.BLOCK)
                },
                stacked=True,
            ),
            "decision_chart": chart(
                "bar",
                labels,
                {
                    ReviewStatus(status).label: [
                        decided.get(status, {}).get(day, 0) for day in days
                    ]
                    for status in (ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED)
                },
                stacked=True,
            ),
            "open_counts": review.open_counts(),
            "open_url": queue_url(status=ReviewStatus.OPEN),
            "held_url": held_url(),
        }
        return super().changelist_view(request, extra_context=context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        """The review page: the flag read as sentences beside its checkout attempts, and the
        decision form (for staff who may change assessments)."""
        assessment = self.get_object(request, unquote(object_id))
        if assessment is None:
            raise Http404(f"No risk assessment {object_id!r}.")
        if not self.has_view_or_change_permission(request, assessment):
            raise PermissionDenied
        may_decide = self.has_change_permission(request, assessment)
        form = DecisionForm()
        if request.method == "POST":
            if not may_decide:
                raise PermissionDenied
            form = DecisionForm(request.POST)
            if form.is_valid():
                return self._decide(request, [assessment], form.cleaned_data)
        name = describe(assessment)
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.opts,
            "title": f"Review: {name}",
            "subject_title": name,
            "assessment": assessment,
            "sentences": review.rule_sentences(assessment.reasons),
            "attempts": review.related_attempts(assessment),
            "decided_by": person_name(assessment.reviewed_by) if assessment.reviewed_by else "",
            "form": form if may_decide else None,
            "preserved_filters": self.get_preserved_filters(request),
            "queue_url": self._queue_url(request),
        }
        return TemplateResponse(
            request, "admin/recommendations/riskassessment/review.html", context
        )

    @admin.action(description="Confirm or dismiss the selected assessments", permissions=["change"])
    def decide_selected(
        self, request: HttpRequest, queryset: QuerySet[RiskAssessment]
    ) -> HttpResponse | None:
        """One decision for many (a card-testing burst): asks for the reason first."""
        form = DecisionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            return self._decide(request, list(queryset), form.cleaned_data)
        chosen = list(queryset[:200])
        keys = [a.key for a in chosen if a.subject == RiskSubject.ORDER]
        labels, emails = order_labels(keys), order_emails(keys)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Confirm or dismiss the selected assessments",
            "form": form,
            "chosen": [(a, subject_name(a, labels, emails)) for a in chosen],
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "queue_url": self._queue_url(request),
        }
        return TemplateResponse(
            request, "admin/recommendations/riskassessment/decide_selected.html", context
        )

    def _decide(
        self, request: HttpRequest, assessments: list[RiskAssessment], data: dict[str, Any]
    ) -> HttpResponse:
        status = DECISIONS[data["decision"]]
        for assessment in assessments:
            review.decide(assessment, request.user, status, data["reason"], data["note"])
            self.log_change(
                request,
                assessment,
                f"{assessment.get_status_display()}: {assessment.get_decision_reason_display()}"
                + (f" ({assessment.note})" if assessment.note else ""),
            )
        verb = "Confirmed" if status == ReviewStatus.CONFIRMED else "Dismissed"
        names = ", ".join(describe(a) for a in assessments[:3])
        more = f" and {len(assessments) - 3} more" if len(assessments) > 3 else ""
        reason = DecisionReason(data["reason"]).label
        self.message_user(request, f"{verb} ({reason}): {names}{more}.", messages.SUCCESS)
        return HttpResponseRedirect(self._queue_url(request))

    def _queue_url(self, request: HttpRequest) -> str:
        """Back to the queue as the reviewer left it (its filters kept)."""
        return add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            reverse(QUEUE_URL),
        )


def queue_url(**filters: str) -> str:
    return f"{reverse(QUEUE_URL)}?{urlencode({f'{k}__exact': v for k, v in filters.items()})}"


def held_url() -> str:
    return queue_url(status=ReviewStatus.OPEN, level=RiskLevel.BLOCK, subject=RiskSubject.ORDER)


# --- Rules ---------------------------------------------------------------------------------------


class RuleChangeList(ChangeList):
    """The rule list with each rule's precision from staff decisions, counted once a page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        precision = review.rule_precision()
        for rule in self.result_list:
            rule.decisions = precision.get(rule.code) or review.RulePrecision(rule.code)


@admin.register(RiskRule)
class RiskRuleAdmin(admin.ModelAdmin):
    change_list_template = "admin/recommendations/riskrule/change_list.html"
    list_display = (
        "rule",
        "enabled",
        "threshold",
        "window_minutes",
        "weight",
        "precision",
        "decided",
        "updated",
    )
    list_display_links = ("rule",)
    list_editable = ("enabled", "threshold", "window_minutes", "weight")
    list_filter = ("enabled",)
    actions = ("turn_on", "turn_off")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "review_score": app_settings.RISK_REVIEW_SCORE,
            "block_score": app_settings.RISK_BLOCK_SCORE,
        }
        return super().changelist_view(request, extra_context=context)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a rule is turned off, not deleted: its decisions still count

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RuleChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "updated") if obj is not None else ("updated",)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        explained = HELP.get(obj.code) if obj is not None else None
        return [
            (
                None,
                {
                    "description": explained.summary
                    if explained
                    else "What the threshold and the window count depends on the rule.",
                    "fields": ["code", "enabled", "threshold", "window_minutes", "weight"],
                },
            ),
            ("History", {"fields": ["updated"], "classes": ["collapse"]}),
        ]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        """The threshold's and the window's help say what they mean for this rule, and what
        the rule shipped with."""
        form = super().get_form(request, obj, change, **kwargs)
        explained = HELP.get(obj.code) if obj is not None else None
        default = DEFAULTS.get(obj.code) if obj is not None else None
        if explained is not None and default is not None:
            form.base_fields[
                "threshold"
            ].help_text = f"{explained.threshold} Default: {default.threshold:g}."
            form.base_fields[
                "window_minutes"
            ].help_text = f"{explained.window} Default: {default.window_minutes}."
            form.base_fields[
                "weight"
            ].help_text = f"Points (of 100) the rule adds when it trips. Default: {default.weight}."
        return form

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "code":  # only rules that have no row yet can be added
            taken = set(RiskRule.objects.values_list("code", flat=True))
            kwargs["choices"] = [c for c in RiskRuleCode.choices if c[0] not in taken]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        if not super().has_add_permission(request):
            return False
        return RiskRule.objects.count() < len(RiskRuleCode.choices)

    @admin.display(description="rule", ordering="code")
    def rule(self, rule: RiskRule) -> str:
        return rule.get_code_display()

    @admin.display(description="precision")
    def precision(self, rule: RiskRule) -> str:
        decisions = self._decisions(rule)
        if decisions.precision is None:
            return "—"
        return f"{decisions.precision * 100:.0f}%"

    @admin.display(description="decisions")
    def decided(self, rule: RiskRule) -> str:
        decisions = self._decisions(rule)
        if not decisions.decided:
            return "None yet"
        return f"{decisions.confirmed} confirmed · {decisions.dismissed} dismissed"

    def _decisions(self, rule: RiskRule) -> review.RulePrecision:
        found = getattr(rule, "decisions", None)
        if found is None:
            found = review.rule_precision().get(rule.code) or review.RulePrecision(rule.code)
        return found

    @admin.action(description="Turn the selected rules on", permissions=["change"])
    def turn_on(self, request: HttpRequest, queryset: QuerySet[RiskRule]) -> None:
        self._switch(request, queryset, enabled=True)

    @admin.action(description="Turn the selected rules off", permissions=["change"])
    def turn_off(self, request: HttpRequest, queryset: QuerySet[RiskRule]) -> None:
        self._switch(request, queryset, enabled=False)

    def _switch(self, request: HttpRequest, queryset: QuerySet[RiskRule], *, enabled: bool) -> None:
        changed = 0
        state = "on" if enabled else "off"
        for rule in queryset.exclude(enabled=enabled):  # saved one by one: ``updated`` moves
            rule.enabled = enabled
            rule.save(update_fields=["enabled", "updated"])
            self.log_change(request, rule, f"Turned {state} (bulk action).")
            changed += 1
        self.message_user(request, f"{changed} rule{'' if changed == 1 else 's'} turned {state}.")
