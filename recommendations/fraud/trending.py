"""A confirmed person's past activity taken back out of the live trending counters.

In services mode the trending slot is served from counters the ingest consumer keeps in Redis
(:mod:`recommendations.tracking.live`); the stored rankings that training and the popularity
refresh rewrite already leave confirmed people out, but the counters only ever add. So when staff
confirm a bot, a fake account or a fraudulent order, that person's stored events come back off
the counters with the boost they were given, as an erase does. A dismissal after a confirmation
does not add them back: the counters catch up from new activity, the stored rankings at once.
"""

from __future__ import annotations

import logging

import redis
from django.db.models import Q

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models import DecisionReason, Event, EventKind, RiskAssessment, RiskSubject
from recommendations.tracking import live

logger = logging.getLogger("recommendations.fraud")


def confirmed_events(assessment: RiskAssessment) -> Q:
    """The events a confirmation takes out of trending: the person's (their user's, and their
    visitor's while signed out), or only the order's purchases for a stolen card, whose holder
    is the victim."""
    if assessment.subject == RiskSubject.ORDER and (
        assessment.decision_reason == DecisionReason.STOLEN_CARD
    ):
        order = Q(context__order=assessment.key)  # the order id as text, or as a number
        if (number := _as_int(assessment.key)) is not None:
            order |= Q(context__order=number)
        return Q(kind=EventKind.PURCHASE) & order
    user_id = assessment.user_id
    visitor_id = assessment.visitor_id
    if assessment.subject == RiskSubject.VISITOR:
        if assessment.key.startswith("v:"):
            visitor_id = visitor_id or assessment.key[2:]
        elif assessment.key.isdigit():
            user_id = user_id or int(assessment.key)
    found = Q(pk__in=[])
    if user_id is not None:
        found |= Q(user_id=user_id)
    if visitor_id:
        found |= Q(visitor_id=visitor_id, user__isnull=True)
    return found


def _as_int(key: str) -> int | None:
    return int(key) if key.isascii() and key.isdecimal() and len(key) <= 18 else None


def forget_confirmed(assessment: RiskAssessment) -> int:
    """Take the confirmed person's events off the live trending counters; returns the items
    touched (0 in embedded mode or with Redis away: the stored rankings are what serve then)."""
    if not app_settings.services_mode or not redis_client.available():
        return 0
    events = (
        Event.objects.filter(confirmed_events(assessment))
        .exclude(item_id="")
        .values_list("item_id", "kind", "ts")
    )
    try:
        return live.forget(
            redis_client.get_redis(),
            ((item_id, kind, ts.timestamp()) for item_id, kind, ts in events.iterator(2000)),
        )
    except redis.RedisError:
        redis_client.mark_down()
        logger.warning("Trending counters not corrected for risk assessment %s", assessment.pk)
        return 0
