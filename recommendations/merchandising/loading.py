"""Reading the live rules of a slot, cached in-process.

Rules change a few times a day but are read on every recommendation, so :func:`load_rules` keeps
each slot's rules for :data:`CACHE_SECONDS` in the process. The cache holds every active rule
that has not ended yet, with its time window, and the window is checked on each call: a rule
starts and ends on the second. Only edits wait for the cache: saving or deleting a rule clears the
cache of the process that did it at once, other processes see the change within
:data:`CACHE_SECONDS`. While the database is unreachable, the rules last read are applied.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from recommendations import caches, fallbacks
from recommendations.models import Rule
from recommendations.types import Action, Fallback

from .rules import RuleSpec

#: Seconds a slot's rules are reused before the database is asked again.
CACHE_SECONDS = 5.0

logger = logging.getLogger("recommendations.merchandising")

_cache: dict[str, tuple[float, list[RuleSpec]]] = {}


def load_rules(slot: str, now: datetime | None = None) -> list[RuleSpec]:
    """The rules live for ``slot`` at ``now`` (default: the current time), oldest first."""
    cached = _cache.get(slot)
    if cached is None or cached[0] <= time.monotonic():
        try:
            cached = (time.monotonic() + CACHE_SECONDS, _fetch(slot))
        except DatabaseError as exc:
            if cached is None:
                raise
            # Keep serving the rules last read rather than none; ask again a period later.
            logger.warning("Rules for %s unavailable (%s); applying the last ones read", slot, exc)
            fallbacks.note(Fallback.DATABASE)
            cached = (time.monotonic() + CACHE_SECONDS, cached[1])
        _cache[slot] = cached
    now = now or timezone.now()
    return [rule for rule in cached[1] if rule.is_live(now)]


def clear_cache(**kwargs: Any) -> None:
    """Forget the cached rules of every slot in this process (also a signal receiver)."""
    _cache.clear()


def _fetch(slot: str) -> list[RuleSpec]:
    rules = Rule.objects.filter(active=True).for_slot(slot).exclude(ends_at__lte=timezone.now())
    return [spec_of(rule) for rule in rules.order_by("created", "pk")]


def spec_of(rule: Rule) -> RuleSpec:
    """The immutable snapshot of a rule row that the serving path caches and applies."""
    return RuleSpec(
        action=Action(rule.action),
        item_id=rule.item_id,
        category=rule.category,
        brand=rule.brand,
        min_price=rule.min_price,
        max_price=rule.max_price,
        position=rule.position or 1,
        weight=rule.weight or 0.0,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        rule_id=rule.pk,
    )


def _rules_changed(**kwargs: Any) -> None:
    caches.invalidate(caches.Change.RULES)


caches.register("merchandising rules", clear_cache, caches.Change.RULES)
post_save.connect(_rules_changed, sender=Rule, dispatch_uid="recommendations.merchandising.cache")
post_delete.connect(_rules_changed, sender=Rule, dispatch_uid="recommendations.merchandising.cache")
