"""The promotion gate: a candidate replaces the active version only if it is not worse on the
same validation split (see :func:`decide`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from recommendations.conf import app_settings
from recommendations.models import ModelVersion
from recommendations.models.registry import METRIC

from .versions import Status, activate, lock_active


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


@dataclass(frozen=True)
class Comparison:
    """The numbers one promotion decision compares, all measured on the candidate's validation
    split: the candidate, popularity, and the best reference (the active version's and recent
    versions' configurations refitted on that split), named by ``reference_version``."""

    candidate: float | None
    popularity: float | None = None
    reference: float | None = None
    reference_version: str = ""


def decide(comparison: Comparison, tolerance: float) -> Decision:
    """Promote when the candidate's validation NDCG@10 is not below popularity's, and not below
    the best reference's by more than ``tolerance`` (relative). Every number comes from one
    split, so the decision never compares runs that validated on different held-out items."""
    candidate, popularity, reference = (
        comparison.candidate,
        comparison.popularity,
        comparison.reference,
    )
    name = METRIC.upper()
    if candidate is None:
        return Decision(True, "no validation metric for this scenario: the newest version is used")
    if popularity is not None and candidate < popularity - 1e-12:
        return Decision(
            False,
            f"{name} {candidate:.4f} is below popularity's {popularity:.4f} on the same "
            "validation split",
        )
    versus_popularity = (
        f"popularity {popularity:.4f}" if popularity is not None else "popularity not measured"
    )
    if reference is None:
        return Decision(
            True,
            f"{name} {candidate:.4f} (vs {versus_popularity}); no earlier version to compare with",
        )
    floor = reference * (1.0 - tolerance)
    if candidate < floor - 1e-12:
        return Decision(
            False,
            f"{name} {candidate:.4f} is worse than {comparison.reference_version}'s "
            f"{reference:.4f} on the same validation split (tolerance {tolerance:.0%}: needs at "
            f"least {floor:.4f})",
        )
    return Decision(
        True,
        f"{name} {candidate:.4f} vs {comparison.reference_version} {reference:.4f} on the same "
        f"validation split (tolerance {tolerance:.0%}) and {versus_popularity}",
    )


def comparison_for(version: ModelVersion) -> Comparison:
    """The numbers recorded on ``version`` for its gate."""
    return Comparison(
        candidate=version.metric,
        popularity=version.popularity_metric,
        reference=version.reference_metric,
        reference_version=version.reference.version if version.reference else "",
    )


def judge(version: ModelVersion) -> Decision:
    """Promote ``version`` or reject it, with the reason recorded on it."""
    with transaction.atomic():
        active = lock_active(version.scenario)
        decision = decide(comparison_for(version), app_settings.PROMOTION_TOLERANCE)
        if decision.promote:
            activate(version, active, decision.reason)
        else:
            version.status = Status.REJECTED
            version.reason = decision.reason
            version.save(update_fields=["status", "reason"])
    return decision
