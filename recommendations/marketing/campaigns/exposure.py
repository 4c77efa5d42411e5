"""Exposure events: who qualified for a campaign, and in which arm.

The lift compares visitors who were shown a campaign with those held out of it, so both arms are
recorded the same way: an ``exposure`` event (context ``{"campaign": key, "arm": ...}``) through
the app's normal tracking path, which honours consent and quarantines bots. It is recorded at most
once per visitor, campaign and day: ``SET NX EX`` in Redis (services mode) or a bounded set of
this process (embedded mode, or while Redis is away); a repeat that slips through is harmless,
because the lift counts each visitor's first exposure.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import DatabaseError
from django.http import HttpRequest

from recommendations import caches, redis_client
from recommendations.conf import app_settings
from recommendations.models import EventKind
from recommendations.tracking.api import build_record
from recommendations.tracking.sinks import deliver, emit

from .holdout import Arm

logger = logging.getLogger("recommendations.marketing")

#: Redis remembers a day's exposure two days, so the key of a day never comes back early.
DEDUPE_SECONDS = 2 * 86_400
LOCAL_EXPOSURES = 100_000


_exposures = redis_client.SeenKeys(LOCAL_EXPOSURES)
caches.register("campaign exposures", _exposures.clear, caches.Change.CAMPAIGNS)


def record_exposure(
    request: HttpRequest, campaign_key: str, person: str, arm: Arm, day: date
) -> bool:
    """Emit the visitor's exposure unless it was recorded today; whether one was emitted.

    Without the database an exposure that cannot even be built is lost rather than the campaign
    (one visitor fewer in the lift); one that can goes to the stream."""
    try:
        record = build_record(
            request, EventKind.EXPOSURE, "", context={"campaign": campaign_key, "arm": arm.value}
        )
    except DatabaseError as exc:
        logger.warning("Campaign exposure not recorded: database unavailable (%s)", exc)
        return False
    if record is None or not _first_today(campaign_key, person, day):
        return False
    try:
        emit([record])
    except DatabaseError:
        # ``on_commit`` asks the connection whether it is in a transaction; with none to ask,
        # there is no transaction to wait for: hand the event to the sink now (Redis, if up).
        deliver([record])
    return True


def _first_today(campaign_key: str, person: str, day: date) -> bool:
    key = app_settings.key("campaigns", "exposed", campaign_key, person, day.strftime("%Y%m%d"))
    return redis_client.first_time(key, DEDUPE_SECONDS, _exposures)
