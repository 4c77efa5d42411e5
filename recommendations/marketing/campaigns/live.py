"""The active campaigns as selection sees them: read at most every :data:`CACHE_SECONDS`.

A page asks for its visitor's campaign on every request, so the list of active campaigns must
cost no query: it is kept in the process (like merchandising rules and experiments), and saving or
deleting a campaign, or changing its segments, clears this process's copy at once
(``caches.Change.CAMPAIGNS``). Without the database there is no campaign list to read: the last
one read is kept for the outage, or none.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.models.signals import m2m_changed, post_delete, post_save

from recommendations import caches
from recommendations.models import Campaign

logger = logging.getLogger("recommendations.marketing")

#: Seconds the active campaigns are reused before the database is asked again.
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class LiveCampaign:
    pk: int
    key: str
    name: str
    content: str
    headline: str
    link_url: str
    item_ids: tuple[str, ...]
    slot: str
    coupon_code: str
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    frequency_cap: int | None
    holdout_percent: float
    #: Ids of the active segments it targets; empty: every visitor. A campaign whose segments
    #: are all inactive targets nobody and is not kept here.
    segment_ids: frozenset[int]

    @property
    def for_everyone(self) -> bool:
        return not self.segment_ids

    def is_running(self, now: datetime) -> bool:
        return (
            self.starts_at is not None
            and self.starts_at <= now
            and (self.ends_at is None or now < self.ends_at)
        )


class _Active:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expires = 0.0
        self._campaigns: tuple[LiveCampaign, ...] = ()

    def get(self) -> tuple[LiveCampaign, ...]:
        if self._expires <= time.monotonic():
            try:
                campaigns = fetch()
            except DatabaseError as exc:
                # Keep what was read before the outage; ask again a period later.
                logger.warning("Campaigns unavailable (%s); keeping the last list read", exc)
                campaigns = self._campaigns
            with self._lock:
                self._campaigns = campaigns
                self._expires = time.monotonic() + CACHE_SECONDS
        return self._campaigns

    def clear(self) -> None:
        with self._lock:
            self._expires = 0.0
            self._campaigns = ()


_active = _Active()


def active_campaigns() -> tuple[LiveCampaign, ...]:
    """Active campaigns with a start, highest priority first (then by name, as admin lists
    them); not yet filtered by period, which :meth:`LiveCampaign.is_running` checks per request."""
    return _active.get()


def fetch() -> tuple[LiveCampaign, ...]:
    rows = Campaign.objects.filter(active=True, starts_at__isnull=False).prefetch_related(
        "segments"
    )
    found = []
    for row in rows:
        segments = list(row.segments.all())
        active_ids = frozenset(s.pk for s in segments if s.active)
        if segments and not active_ids:
            continue  # aimed at segments that target nobody now
        found.append(
            LiveCampaign(
                pk=row.pk,
                key=row.key,
                name=row.name,
                content=row.content,
                headline=row.headline,
                link_url=row.link_url,
                item_ids=tuple(str(item) for item in row.item_ids or ()),
                slot=row.slot,
                coupon_code=row.coupon_code,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                priority=row.priority,
                frequency_cap=row.frequency_cap,
                holdout_percent=row.holdout_percent,
                segment_ids=active_ids,
            )
        )
    found.sort(key=lambda c: (-c.priority, c.name, c.pk))
    return tuple(found)


def clear_cache(**kwargs: Any) -> None:
    """Forget the campaigns read by this process (also a signal receiver)."""
    _active.clear()


def _campaigns_changed(**kwargs: Any) -> None:
    caches.invalidate(caches.Change.CAMPAIGNS)


caches.register("active campaigns", clear_cache, caches.Change.CAMPAIGNS)
post_save.connect(_campaigns_changed, sender=Campaign, dispatch_uid="recommendations.campaigns")
post_delete.connect(_campaigns_changed, sender=Campaign, dispatch_uid="recommendations.campaigns")
m2m_changed.connect(
    _campaigns_changed,
    sender=Campaign.segments.through,
    dispatch_uid="recommendations.campaigns",
)
