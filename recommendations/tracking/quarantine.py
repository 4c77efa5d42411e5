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

from recommendations.catalog import get_catalog
from recommendations.conf import app_settings
from recommendations.models.quarantine import (
    QuarantineCount,
    QuarantinedVisitor,
    QuarantineReason,
)
from recommendations.policies import automated_reason

from .bots import Burst, count_request
from .identity import identity_for

logger = logging.getLogger("recommendations.tracking")

#: Set on the request once it has been judged: the quarantine reason, or "" for a person.
VERDICT_ATTR = "_recommendations_quarantined"

_UPSERT_VENDORS = frozenset({"postgresql", "sqlite"})


def quarantined(request: HttpRequest, kinds: Iterable[int]) -> bool:
    """Whether the request's events (of ``kinds``, one entry per event) must not be stored; when
    so, they are counted in :class:`QuarantineCount` instead.

    Judged once per request, so a request that records several events counts once towards its
    visitor's burst: first the adapter's ``is_bot`` (an adapter that raises is logged and the
    request treated as a person's, so tracking never fails a page), then the visitor's burst.
    """
    reason = getattr(request, VERDICT_ATTR, None)
    if reason is None:
        reason = _judge(request)
        setattr(request, VERDICT_ATTR, reason)
    if not reason:
        return False
    counts = Counter(int(kind) for kind in kinds)
    day = timezone.localdate()
    transaction.on_commit(lambda: add_counts(day, reason, counts), robust=True)
    return True


def _judge(request: HttpRequest) -> str:
    try:
        if get_catalog().is_bot(request):
            return automated_reason(request) or QuarantineReason.ADAPTER.value
    except Exception:
        logger.exception("The catalogue adapter's is_bot() failed; tracking the request")
    if not app_settings.BOT_DETECTION:
        return ""
    burst = count_request(identity_for(request).visitor_id)
    if burst is Burst.NONE:
        return ""
    if burst is Burst.TRIPPED:
        _flag_visitor(request, QuarantineReason.BURST.value)
    return QuarantineReason.BURST.value


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


def _required(column: str | None) -> str:
    if column is None:  # concrete fields always have a column
        raise TypeError("field without a database column")
    return column


def _upsert(rows: list[tuple[date, str, int, int]]) -> None:
    quote = connection.ops.quote_name
    meta = QuarantineCount._meta
    table = quote(meta.db_table)
    columns = {field.name: field.column for field in meta.concrete_fields}
    day, reason, kind, count = (
        quote(_required(columns[name])) for name in ("day", "reason", "kind", "count")
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
