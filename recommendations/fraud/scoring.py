"""Points to a score, a score to a level, and the assessment staff review.

The score is the sum of the tripped rules' points, at most 100. At ``RISK_REVIEW_SCORE`` the
subject is put up for review (``risk_flagged``), at ``RISK_BLOCK_SCORE`` an order is also held
(``order_held``): the store decides what holding means, nobody is told anything.

Once flagged, an assessment stays open until a person decides, however its score moves; a
decision (confirmed, dismissed) is never changed by scoring again, which only updates the score
and reasons. Signals are sent once, when the assessment is first flagged or first blocked, and
after the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from recommendations.conf import app_settings
from recommendations.models import ReviewStatus, RiskAssessment, RiskLevel, RiskSubject
from recommendations.signals import order_held, risk_flagged

DECIDED = (ReviewStatus.CONFIRMED, ReviewStatus.DISMISSED)


def total(reasons: list[dict]) -> int:
    return min(100, sum(int(reason["points"]) for reason in reasons))


def level_for(score: int) -> RiskLevel:
    if score >= app_settings.RISK_BLOCK_SCORE:
        return RiskLevel.BLOCK
    if score >= app_settings.RISK_REVIEW_SCORE:
        return RiskLevel.REVIEW
    return RiskLevel.ALLOW


@dataclass(frozen=True, slots=True)
class Scored:
    assessment: RiskAssessment
    flagged: bool
    held: bool


def record(
    subject: RiskSubject,
    key: str,
    reasons: list[dict],
    *,
    user_id: int | None = None,
    visitor_id: str = "",
    at: datetime | None = None,
    keep_allowed: bool = True,
) -> Scored | None:
    """Create or update the assessment of ``subject`` ``key``; None when nothing was written
    (an allowed subject with no row yet and ``keep_allowed`` off: quiet visitors get no row)."""
    at = at or timezone.now()
    score = total(reasons)
    level = level_for(score)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(
                    subject, key, reasons, score, level, user_id, visitor_id, at, keep_allowed
                )
        except IntegrityError:  # created by a concurrent task between our read and insert
            if attempt:
                raise
    return None


def _upsert(
    subject: RiskSubject,
    key: str,
    reasons: list[dict],
    score: int,
    level: RiskLevel,
    user_id: int | None,
    visitor_id: str,
    at: datetime,
    keep_allowed: bool,
) -> Scored | None:
    existing = RiskAssessment.objects.select_for_update().filter(subject=subject, key=key).first()
    if existing is None and level == RiskLevel.ALLOW and not keep_allowed:
        return None
    assessment = existing or RiskAssessment(subject=subject, key=key)
    was_flagged = existing is not None and existing.status != ReviewStatus.NOT_NEEDED
    was_blocked = existing is not None and existing.level == RiskLevel.BLOCK
    assessment.score, assessment.level, assessment.reasons, assessment.scored_at = (
        score,
        level,
        reasons,
        at,
    )
    assessment.user_id = user_id if user_id is not None else assessment.user_id
    assessment.visitor_id = (visitor_id or assessment.visitor_id or "")[:64]
    flagged = held = False
    if assessment.status not in DECIDED:
        if level != RiskLevel.ALLOW and assessment.status == ReviewStatus.NOT_NEEDED:
            assessment.status = ReviewStatus.OPEN
            flagged = not was_flagged
        held = subject == RiskSubject.ORDER and level == RiskLevel.BLOCK and not was_blocked
    assessment.save()
    if flagged:
        transaction.on_commit(
            lambda: risk_flagged.send(sender=RiskAssessment, assessment=assessment), robust=True
        )
    if held:
        transaction.on_commit(
            lambda: order_held.send(
                sender=RiskAssessment, order_id=assessment.key, assessment=assessment
            ),
            robust=True,
        )
    return Scored(assessment, flagged, held)
