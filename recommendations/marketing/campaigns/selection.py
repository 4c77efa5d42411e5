"""Which campaign a visitor is shown: the rules, in the order they apply.

1. Active campaigns running now (``starts_at`` ≤ now < ``ends_at``), highest priority first.
2. Those aimed at everyone, or at a segment the visitor is a member of now (one indexed query on
   ``SegmentMember.member`` for the visitor's keys: ``"42"`` when signed in as user 42 and
   ``"v:<visitor id>"``).
3. The first of them decides. A visitor in its holdout (``holdout.arm_of``) is shown *no*
   campaign: showing the next one down instead would make the holdout a different treatment
   rather than its absence, and the lift would measure one campaign against another.
4. A campaign whose frequency cap the visitor reached today is passed over for the next one.

The first qualification of the day is recorded as an exposure in either arm
(:mod:`.exposure`). A visitor who declined tracking is not looked up in any segment, is never held
out, is not counted against a cap and leaves no exposure: they get the first campaign aimed at
everyone, or none. Nothing here fails a page: a database that is away means no segment lookup
(campaigns for everyone from the process's list still apply), any other error means no campaign.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone

from recommendations.models import SegmentMember
from recommendations.tracking.identity import identity_for

from .capping import count_shown
from .exposure import record_exposure
from .holdout import Arm, arm_of
from .live import LiveCampaign, active_campaigns

logger = logging.getLogger("recommendations.marketing")


@dataclass(frozen=True)
class Visitor:
    """Who asks, from the server-side identity only; ``tracked`` is False when they declined."""

    visitor_id: str | None = None
    user_id: int | None = None
    tracked: bool = True

    @property
    def member_keys(self) -> list[str]:
        keys = [str(self.user_id)] if self.user_id is not None else []
        return keys + ([f"v:{self.visitor_id}"] if self.visitor_id else [])

    @property
    def person(self) -> str | None:
        """What the holdout, the cap and the exposure are keyed by: the visitor cookie (kept at
        login, so the arm does not change then), or the user for a client without one."""
        if self.visitor_id:
            return self.visitor_id
        return None if self.user_id is None else f"u:{self.user_id}"


@dataclass(frozen=True)
class Decision:
    campaign: LiveCampaign
    arm: Arm


def visitor_for(request: HttpRequest) -> Visitor:
    identity = identity_for(request)
    if not identity.allowed:
        return Visitor(tracked=False)
    # A first request gets its visitor id now (the response sets the cookie), so the holdout and
    # the cap of this visit and the next are the same person's.
    return Visitor(visitor_id=identity.visitor_id, user_id=identity.user_id)


def campaign_for(request: HttpRequest, now: datetime | None = None) -> LiveCampaign | None:
    """The campaign to show the request's visitor now, or ``None``."""
    decision = decide(request, now)
    return decision.campaign if decision is not None and decision.arm is Arm.SHOWN else None


def decide(request: HttpRequest, now: datetime | None = None) -> Decision | None:
    """The visitor's campaign and arm (exposure recorded and cap counted), or ``None``."""
    try:
        return _decide(request, visitor_for(request), now or timezone.now())
    except DatabaseError as exc:
        logger.warning("Campaigns unavailable (%s); showing none", exc)
    except Exception:
        logger.exception("Campaign selection failed; showing none")
    return None


def _decide(request: HttpRequest, visitor: Visitor, now: datetime) -> Decision | None:
    running = [c for c in active_campaigns() if c.is_running(now)]
    if not running:
        return None
    targeted = visitor.tracked and any(not c.for_everyone for c in running)
    segments = segments_of(visitor) if targeted else frozenset()
    day = timezone.localdate(now)
    for campaign in running:
        if not (campaign.for_everyone or campaign.segment_ids & segments):
            continue
        person = visitor.person
        if not visitor.tracked or person is None:
            if campaign.for_everyone:
                return Decision(campaign, Arm.SHOWN)
            continue
        arm = arm_of(campaign.key, person, campaign.holdout_percent)
        if arm is Arm.HOLDOUT:
            record_exposure(request, campaign.key, person, arm, day)
            return Decision(campaign, arm)
        if (
            campaign.frequency_cap is not None
            and count_shown(campaign.key, person, day) > campaign.frequency_cap
        ):
            continue
        record_exposure(request, campaign.key, person, arm, day)
        return Decision(campaign, arm)
    return None


def segments_of(visitor: Visitor) -> frozenset[int]:
    """Ids of the segments the visitor is a member of now; none while the database is away."""
    keys = visitor.member_keys
    if not keys:
        return frozenset()
    try:
        return frozenset(
            SegmentMember.objects.filter(member__in=keys).values_list("segment_id", flat=True)
        )
    except DatabaseError as exc:
        logger.warning("Segment membership unavailable (%s); campaigns for everyone only", exc)
        return frozenset()
