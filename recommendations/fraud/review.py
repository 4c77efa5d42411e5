"""Staff review of risk assessments: decisions, what each rule's decisions say about it, and the
checkout attempts a reviewer needs beside a flag.

Flags are advisory: nothing happens to a customer until a person confirms or dismisses one, and
each decision keeps who made it, when, why and a note on the assessment itself. Confirmed
assessments are what keeps fraud out of training; the rules' precision (confirmed over decided)
is what tells staff which thresholds to move.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from recommendations.fraud.rules import current_rules
from recommendations.fraud.trending import forget_confirmed
from recommendations.models import (
    CheckoutAttempt,
    DecisionReason,
    ReviewStatus,
    RiskAssessment,
    RiskLevel,
    RiskRuleCode,
    RiskSubject,
)
from recommendations.signals import risk_reviewed

#: Reasons that say "this was fraud" (only a confirmation may give them) and the one that says it
#: was not (only a dismissal); a staff test or "other" fits either decision.
FRAUD_REASONS = frozenset(
    {
        DecisionReason.CARD_TESTING,
        DecisionReason.STOLEN_CARD,
        DecisionReason.FRAUD_RING,
        DecisionReason.BOT,
        DecisionReason.SHILLING,
    }
)
INNOCENT_REASONS = frozenset({DecisionReason.LEGITIMATE})
#: Rules that count checkout attempts linked by person, e-mail, card or address.
LINKING_RULES = frozenset(
    {
        RiskRuleCode.ORDER_VELOCITY,
        RiskRuleCode.FAILED_PAYMENTS,
        RiskRuleCode.CARD_VELOCITY,
        RiskRuleCode.MANY_ADDRESSES,
        RiskRuleCode.SHARED_ADDRESS,
    }
)
#: How far around the assessed attempts linked attempts are looked for when no such rule tripped.
DEFAULT_WINDOW_MINUTES = 24 * 60
#: Attempts listed beside an assessment (the reviewer needs the pattern, not every row).
ATTEMPTS_SHOWN = 50


class DecisionError(ValueError):
    """A decision that cannot be recorded; ``field`` names the part of it that is wrong."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_reason(status: str, reason: str) -> DecisionReason:
    """The reason as a :class:`DecisionReason`, if it fits the decision; else DecisionError."""
    if not reason:
        raise DecisionError("A decision needs a reason.", field="reason")
    try:
        chosen = DecisionReason(reason)
    except ValueError:
        raise DecisionError(f"“{reason}” is not a decision reason.", field="reason") from None
    if status == ReviewStatus.CONFIRMED and chosen in INNOCENT_REASONS:
        raise DecisionError(
            f"“{chosen.label}” is a reason to dismiss, not to confirm.", field="reason"
        )
    if status == ReviewStatus.DISMISSED and chosen in FRAUD_REASONS:
        raise DecisionError(
            f"“{chosen.label}” is a reason to confirm, not to dismiss.", field="reason"
        )
    return chosen


def decide(
    assessment: RiskAssessment, user: Any, status: str, reason: str, note: str = ""
) -> RiskAssessment:
    """Record a confirmation or dismissal by ``user``: it leaves the open queue.

    A decided assessment may be decided again (a mistake corrected); the latest decision is the
    one kept, with its own reviewer and time.
    """
    if status not in (ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED):
        raise DecisionError(f"“{status}” is not a decision.", field="decision")
    newly_confirmed = status == ReviewStatus.CONFIRMED != assessment.status
    assessment.status = status
    assessment.decision_reason = check_reason(status, reason)
    assessment.note = (note or "").strip()
    assessment.reviewed_by = user if getattr(user, "pk", None) is not None else None
    assessment.reviewed_at = timezone.now()
    assessment.save(
        update_fields=["status", "decision_reason", "note", "reviewed_by", "reviewed_at"]
    )
    if newly_confirmed:
        transaction.on_commit(lambda: forget_confirmed(assessment), robust=True)
    transaction.on_commit(
        lambda: risk_reviewed.send(sender=RiskAssessment, assessment=assessment), robust=True
    )
    return assessment


def confirm(assessment: RiskAssessment, user: Any, reason: str, note: str = "") -> RiskAssessment:
    """Staff agree: fraud or a bot. The person's behaviour stops training models."""
    return decide(assessment, user, ReviewStatus.CONFIRMED, reason, note)


def dismiss(assessment: RiskAssessment, user: Any, reason: str, note: str = "") -> RiskAssessment:
    """Staff disagree: a false alarm. A held order may be fulfilled."""
    return decide(assessment, user, ReviewStatus.DISMISSED, reason, note)


# --- What the decisions say about the rules --------------------------------------------------------


@dataclass(frozen=True)
class RulePrecision:
    """Of the decided assessments a rule contributed to, how many staff confirmed."""

    code: str
    confirmed: int = 0
    dismissed: int = 0

    @property
    def decided(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def precision(self) -> float | None:
        """confirmed / (confirmed + dismissed); None before any decision."""
        return self.confirmed / self.decided if self.decided else None


def rule_codes(reasons: Any) -> set[str]:
    """The rules named in an assessment's ``reasons`` (each once, whatever its points)."""
    if not isinstance(reasons, list):
        return set()
    return {str(r["rule"]) for r in reasons if isinstance(r, dict) and r.get("rule")}


def rule_precision() -> dict[str, RulePrecision]:
    """Each rule's precision over every decided assessment, by rule code (rules without a
    decision are absent)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    decided = RiskAssessment.objects.filter(
        status__in=[ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED]
    ).values_list("status", "reasons")
    for status, reasons in decided.iterator(chunk_size=2000):
        for code in rule_codes(reasons):
            counts[code][status] += 1
    return {
        code: RulePrecision(
            code, confirmed=by[ReviewStatus.CONFIRMED], dismissed=by[ReviewStatus.DISMISSED]
        )
        for code, by in counts.items()
    }


# --- The queue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCounts:
    """What waits for staff: orders held (level block) and everything open."""

    held_orders: int
    reviews: int


def open_counts() -> OpenCounts:
    """One query: the numbers on the admin's badge."""
    counts = RiskAssessment.objects.filter(status=ReviewStatus.OPEN).aggregate(
        held=Count("pk", filter=Q(level=RiskLevel.BLOCK, subject=RiskSubject.ORDER)),
        reviews=Count("pk"),
    )
    return OpenCounts(held_orders=counts["held"], reviews=counts["reviews"])


#: Annotations :func:`in_queue_order` adds and sorts by, first to last.
QUEUE_ORDERING = ("queue_open", "queue_level", "-score", "-scored_at")


def in_queue_order(queryset: QuerySet[RiskAssessment]) -> QuerySet[RiskAssessment]:
    """Open items first; among them held (block) before review, highest score first."""
    return queryset.annotate(
        queue_open=Case(
            When(status=ReviewStatus.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        queue_level=Case(
            When(level=RiskLevel.BLOCK, then=Value(0)),
            When(level=RiskLevel.REVIEW, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by(*QUEUE_ORDERING)


def rule_sentences(reasons: Any) -> list[str]:
    """The contributing rules as a reviewer reads them: name, points and what was seen."""
    if not isinstance(reasons, list):
        return []
    labels = dict(RiskRuleCode.choices)
    sentences = []
    for reason in reasons:
        if not isinstance(reason, dict):
            continue
        code = str(reason.get("rule") or "")
        name = labels.get(code, code or "Unknown rule")
        points = reason.get("points")
        sentence = f"{name} (+{points} points)" if points is not None else name
        detail = str(reason.get("detail") or "").strip()
        sentences.append(f"{sentence}: {detail}" if detail else sentence)
    return sentences


# --- The checkout attempts beside an assessment ------------------------------------------------------


@dataclass(frozen=True)
class LinkedAttempt:
    """Another attempt sharing an e-mail, card or address with the assessed ones."""

    attempt: CheckoutAttempt
    shares: tuple[str, ...]


@dataclass(frozen=True)
class Attempts:
    """The assessed order's (or person's) attempts, and the others linked to them in the window."""

    own: list[CheckoutAttempt]
    linked: list[LinkedAttempt]
    window_minutes: int

    @property
    def window(self) -> str:
        """``90`` → "90 minutes", ``1440`` → "1 day", ``43200`` → "30 days"."""
        for unit, minutes in (("day", 24 * 60), ("hour", 60)):
            if self.window_minutes >= minutes and self.window_minutes % minutes == 0:
                count = self.window_minutes // minutes
                return f"{count} {unit}{'' if count == 1 else 's'}"
        return f"{self.window_minutes} minute{'' if self.window_minutes == 1 else 's'}"


def window_minutes(reasons: Any) -> int:
    """The widest window of the contributing rules that count attempts by e-mail, card or
    address (as configured now): the span those rules looked at. A day when none did."""
    rules = current_rules()
    windows = [
        rules[code].window_minutes for code in rule_codes(reasons) & LINKING_RULES if code in rules
    ]
    return max(windows, default=DEFAULT_WINDOW_MINUTES)


def own_attempts(assessment: RiskAssessment) -> list[CheckoutAttempt]:
    """The order's attempts, or the person's most recent ones for a visitor."""
    if assessment.subject == RiskSubject.ORDER:
        found = CheckoutAttempt.objects.filter(order_id=assessment.key)
    else:
        person = Q(pk__in=[])
        if assessment.user_id is not None:
            person |= Q(user_id=assessment.user_id)
        if assessment.visitor_id:
            person |= Q(visitor_id=assessment.visitor_id)
        found = CheckoutAttempt.objects.filter(person)
    return list(found.select_related("user").order_by("-created")[:ATTEMPTS_SHOWN])


def related_attempts(assessment: RiskAssessment) -> Attempts:
    """The attempts a reviewer compares: the assessed ones, and other attempts with the same
    e-mail, card fingerprint or address within the rules' window around them."""
    own = own_attempts(assessment)
    minutes = window_minutes(assessment.reasons)
    if not own:
        return Attempts(own=[], linked=[], window_minutes=minutes)
    keys = {
        "e-mail": _present(a.email for a in own),
        "card": _present(a.card_fingerprint for a in own),
        "address": _present(a.address for a in own),
    }
    fields = {"e-mail": "email", "card": "card_fingerprint", "address": "address"}
    shared = Q(pk__in=[])
    for name, values in keys.items():
        if values:
            shared |= Q(**{f"{fields[name]}__in": values})
    window = timedelta(minutes=minutes)
    linked = (
        CheckoutAttempt.objects.filter(shared)
        .filter(
            created__gte=min(a.created for a in own) - window,
            created__lte=max(a.created for a in own) + window,
        )
        .exclude(pk__in=[a.pk for a in own])
        .select_related("user")
        .order_by("-created")[:ATTEMPTS_SHOWN]
    )
    return Attempts(
        own=own,
        linked=[
            LinkedAttempt(
                attempt,
                tuple(
                    f"same {name}"
                    for name, values in keys.items()
                    if getattr(attempt, fields[name]) in values
                ),
            )
            for attempt in linked
        ],
        window_minutes=minutes,
    )


def _present(values: Iterable[str]) -> set[str]:
    return {value for value in values if value}


# --- Over time -------------------------------------------------------------------------------------


def daily_flags(days: list[date]) -> dict[str, dict[date, int]]:
    """Assessments put up for review or held, per level and the day they were first made."""
    return _daily(
        RiskAssessment.objects.filter(level__in=[RiskLevel.REVIEW, RiskLevel.BLOCK]),
        "created",
        "level",
        days,
    )


def daily_decisions(days: list[date]) -> dict[str, dict[date, int]]:
    """Confirmations and dismissals per day they were made."""
    return _daily(
        RiskAssessment.objects.filter(
            status__in=[ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED],
            reviewed_at__isnull=False,
        ),
        "reviewed_at",
        "status",
        days,
    )


def _daily(
    queryset: QuerySet[RiskAssessment], moment: str, by: str, days: list[date]
) -> dict[str, dict[date, int]]:
    if not days:
        return {}
    zone = timezone.get_current_timezone()
    since = datetime.combine(days[0], time.min, tzinfo=zone)
    rows = (
        queryset.filter(**{f"{moment}__gte": since})
        .annotate(day=TruncDate(moment, tzinfo=zone))
        .values(by, "day")
        .annotate(n=Count("pk"))
        .values_list(by, "day", "n")
    )
    out: dict[str, dict[date, int]] = defaultdict(dict)
    for key, day, n in rows:
        out[key][day] = n
    return dict(out)
