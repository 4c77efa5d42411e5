"""Writing events to the database, exactly once per ``event_id``.

On PostgreSQL a batch is COPY-ed into a temporary staging table and moved with
``INSERT … SELECT … ON CONFLICT DO NOTHING``: COPY's speed with de-duplication in one statement.
Other databases (the embedded SQLite mode) use the ORM.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable

from django.db import connections, router, transaction

from recommendations import suppression
from recommendations.models import Event, VisitorLink

from .records import EventRecord

logger = logging.getLogger("recommendations.ingest")

_STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS recommendations_event_stage (
    event_id uuid, visitor_id text, user_id bigint, item_id text, kind smallint,
    value double precision, ts timestamptz, client_ts timestamptz, context text
) ON COMMIT DELETE ROWS
"""

_STAGE_COPY = (
    "COPY recommendations_event_stage "
    "(event_id, visitor_id, user_id, item_id, kind, value, ts, client_ts, context) FROM STDIN"
)

_STAGE_MOVE = """
INSERT INTO {event} (event_id, visitor_id, user_id, item_id, kind, value, ts, client_ts, context)
SELECT s.event_id, s.visitor_id, COALESCE(s.user_id, l.user_id), s.item_id, s.kind, s.value,
       s.ts, s.client_ts, s.context::jsonb
FROM recommendations_event_stage s
LEFT JOIN {link} l ON l.visitor_id = s.visitor_id
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id
"""


def insert_events(
    records: Iterable[EventRecord], *, using: str | None = None, wait_for_flush: bool = True
) -> list[EventRecord]:
    """Store ``records``, skipping any whose ``event_id`` is already stored.

    With ``wait_for_flush=False`` (PostgreSQL, outside any transaction) the commit returns before
    the write-ahead log reaches the disk: for events that nobody was told were stored (a page
    view a response must not wait for), PostgreSQL's ``synchronous_commit = off``. The rows are
    written in the same order and never half; a crash of PostgreSQL itself (not of the web
    process) can lose the last few hundred milliseconds of them (three times ``wal_writer_delay``).

    Returns the records that were new. Anonymous records of a visitor who has logged in are
    attributed to that user (see :class:`~recommendations.models.VisitorLink`). Records of an
    erased user or visitor are dropped, whoever sends them (a replayed stream message, a process
    that has not yet heard of the erase): see :mod:`recommendations.suppression`.
    """
    unique: dict[str, EventRecord] = {}
    for record in records:
        unique.setdefault(str(uuid.UUID(record.event_id)), record)
    if not unique:
        return []
    unique = _without_suppressed(unique)
    if not unique:
        return []
    alias = using or router.db_for_write(Event)
    if connections[alias].vendor == "postgresql":
        new_ids = _insert_postgresql(list(unique.values()), alias, wait_for_flush)
    else:
        new_ids = _insert_orm(unique, alias)
    return [unique[event_id] for event_id in new_ids]


def _without_suppressed(unique: dict[str, EventRecord]) -> dict[str, EventRecord]:
    suppressed = suppression.suppressed_records(
        (r.user_id for r in unique.values()), (r.visitor_id for r in unique.values())
    )
    if not suppressed:
        return unique
    kept = {
        event_id: r
        for event_id, r in unique.items()
        if suppression.visitor_digest(r.visitor_id) not in suppressed
        and (r.user_id is None or suppression.user_digest(r.user_id) not in suppressed)
    }
    logger.info("Dropped %d event(s) of erased people", len(unique) - len(kept))
    return kept


def _insert_postgresql(records: list[EventRecord], alias: str, wait_for_flush: bool) -> list[str]:
    move = _STAGE_MOVE.format(event=Event._meta.db_table, link=VisitorLink._meta.db_table)
    # Inside a caller's transaction the setting would apply to all of it: only on our own.
    asynchronous = not wait_for_flush and not connections[alias].in_atomic_block
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        if asynchronous:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_STAGE_DDL)
        raw = cursor.cursor
        with raw.copy(_STAGE_COPY) as copy:
            for r in records:
                copy.write_row(
                    (
                        r.event_id,
                        r.visitor_id,
                        r.user_id,
                        r.item_id,
                        r.kind,
                        r.value,
                        r.ts,
                        r.client_ts,
                        json.dumps(r.context, separators=(",", ":")),
                    )
                )
        cursor.execute(move)
        return [str(row[0]) for row in cursor.fetchall()]


def _insert_orm(unique: dict[str, EventRecord], alias: str) -> list[str]:
    with transaction.atomic(using=alias):
        stored = {
            str(event_id)
            for event_id in Event.objects.using(alias)
            .filter(event_id__in=list(unique))
            .values_list("event_id", flat=True)
        }
        new = {event_id: r for event_id, r in unique.items() if event_id not in stored}
        anonymous = {r.visitor_id for r in new.values() if r.user_id is None}
        links = dict(
            VisitorLink.objects.using(alias)
            .filter(visitor_id__in=anonymous)
            .values_list("visitor_id", "user_id")
        )
        Event.objects.using(alias).bulk_create(
            [
                Event(
                    event_id=event_id,
                    visitor_id=r.visitor_id,
                    user_id=r.user_id if r.user_id is not None else links.get(r.visitor_id),
                    item_id=r.item_id,
                    kind=r.kind,
                    value=r.value,
                    ts=r.ts,
                    client_ts=r.client_ts,
                    context=r.context,
                )
                for event_id, r in new.items()
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
    return list(new)
