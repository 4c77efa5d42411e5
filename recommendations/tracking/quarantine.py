"""Keeping bot traffic out of the event log: the tracking path asks :func:`quarantined` before it
builds records, and a quarantined request's events are only counted.

Counting is one upsert per request (``INSERT … ON CONFLICT … DO UPDATE SET count = count + n``)
after the transaction commits; it never raises into the page: a database error loses the count and
is logged. Nothing about the request is kept in the counts, only day, reason, kind and number.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import date

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from recommendations.models.quarantine import (
    QuarantineCount,
    QuarantinedVisitor,
    QuarantineReason,
)

from .bots import TRIPPED_ATTR, VERDICT_ATTR

logger = logging.getLogger("recommendations.tracking")

#: Set on the request once the adapter has answered ``is_bot``.
DECIDED_ATTR = "_recommendations_quarantined"

_UPSERT_VENDORS = frozenset({"postgresql", "sqlite"})


def quarantined(request: HttpRequest, kinds: Iterable[int]) -> bool:
    """Whether the request's events (of ``kinds``, one entry per event) must not be stored; when
    so, they are counted in :class:`QuarantineCount` instead.

    The adapter's ``is_bot`` is asked once per request; an adapter that raises is logged and the
    request is treated as a person's, so tracking never fails a page.
    """
    from recommendations.catalog import get_catalog

    decided = getattr(request, DECIDED_ATTR, None)
    if decided is None:
        try:
            decided = bool(get_catalog().is_bot(request))
        except Exception:
            logger.exception("The catalogue adapter's is_bot() failed; tracking the request")
            decided = False
        setattr(request, DECIDED_ATTR, decided)
    if not decided:
        return False
    reason = getattr(request, VERDICT_ATTR, "") or QuarantineReason.ADAPTER.value
    counts = Counter(int(kind) for kind in kinds)
    day = timezone.localdate()
    transaction.on_commit(lambda: add_counts(day, reason, counts), robust=True)
    if getattr(request, TRIPPED_ATTR, False):
        setattr(request, TRIPPED_ATTR, False)
        _flag_visitor(request, reason)
    return True


def add_counts(day: date, reason: str, counts: Counter[int]) -> None:
    """Add ``counts`` (kind → events) to the day's row for ``reason``; never raises."""
    rows = [(day, reason, kind, n) for kind, n in counts.items() if n > 0]
    if not rows:
        return
    try:
        if connection.vendor in _UPSERT_VENDORS:
            _upsert(rows)
        else:
            for row in rows:
                _increment(*row)
    except DatabaseError:
        logger.exception("Could not count %d quarantined event(s)", sum(counts.values()))


def _upsert(rows: list[tuple[date, str, int, int]]) -> None:
    quote = connection.ops.quote_name
    meta = QuarantineCount._meta
    table = quote(meta.db_table)
    day, reason, kind, count = (
        quote(meta.get_field(name).column) for name in ("day", "reason", "kind", "count")
    )
    sql = (
        f"INSERT INTO {table} ({day}, {reason}, {kind}, {count}) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({day}, {reason}, {kind}) "
        f"DO UPDATE SET {count} = {table}.{count} + EXCLUDED.{count}"
    )
    params = [(connection.ops.adapt_datefield_value(d), r, k, n) for d, r, k, n in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _increment(day: date, reason: str, kind: int, n: int) -> None:
    """The portable form of the upsert, for backends without ``ON CONFLICT``."""
    rows = QuarantineCount.objects.filter(day=day, reason=reason, kind=kind)
    if rows.update(count=F("count") + n):
        return
    try:
        with transaction.atomic():
            QuarantineCount.objects.create(day=day, reason=reason, kind=kind, count=n)
    except IntegrityError:
        rows.update(count=F("count") + n)


def _flag_visitor(request: HttpRequest, reason: str) -> None:
    """Remember the bursting visitor (and user) so training leaves out what they did before the
    burst became visible; written once per burst, after commit, never raising."""
    from .identity import identity_for

    identity = identity_for(request)
    visitor_id, user_id = identity.visitor_id, identity.user_id

    def write() -> None:
        try:
            QuarantinedVisitor.objects.update_or_create(
                visitor_id=visitor_id,
                defaults={"user_id": user_id, "reason": reason, "flagged_at": timezone.now()},
            )
        except DatabaseError:
            logger.exception("Could not flag a bursting visitor")

    transaction.on_commit(write, robust=True)


def flagged_user_keys() -> set[str]:
    """Training's user keys of flagged visitors: ``"v:<visitor>"``, and ``"<user id>"`` when one
    was signed in."""
    keys: set[str] = set()
    for visitor_id, user_id in QuarantinedVisitor.objects.values_list("visitor_id", "user_id"):
        keys.add(f"v:{visitor_id}")
        if user_id is not None:
            keys.add(str(user_id))
    return keys
