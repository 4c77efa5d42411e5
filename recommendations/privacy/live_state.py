"""The person's share of Redis: live recent items, precomputed lists, burst counters, and
events still in the stream or dead-lettered.

Key names carry the person as a whole ``:``-separated segment (``recent:user:42``,
``list:user:42``, ``burst:<visitor>:<bucket>``), so the app's namespace is scanned once and a key
is the person's when its segments name them; ``list-versions`` has one field per list key. Stream
messages are batches of events: a batch holding some of the person's events is replaced by one
without them (the same events, same ids, so a consumer that already read the old one stores
nothing twice).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import redis

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.tracking import live
from recommendations.tracking.ingest import dead_letter_key, group_name
from recommendations.tracking.records import EventRecord, dumps, loads
from recommendations.tracking.sinks import STREAM_FIELD, stream_key

from .subject import Subject

logger = logging.getLogger("recommendations.privacy")

#: Keys holding the person's data, decoded per kind; everything else is only reported.
_LIST_PREFIX = "list"


def client() -> redis.Redis | None:
    """Redis in services mode, else None (embedded mode keeps no live state)."""
    if not app_settings.services_mode:
        return None
    return redis_client.get_redis(timeout=None)


def _names_person(name: str, subject: Subject) -> bool:
    segments = name.split(":")
    if any(segment in subject.visitor_ids for segment in segments):
        return True
    if subject.user_id is None:
        return False
    user = str(subject.user_id)
    return any(
        segments[i] == "user" and segments[i + 1] == user for i in range(len(segments) - 1)
    ) or any(segment == f"user-{user}" for segment in segments)


def _redacted(name: str, subject: Subject) -> str:
    """A key name fit for a status record: the person's segments blanked out."""
    user = str(subject.user_id)
    return ":".join(
        "<erased>"
        if segment in subject.visitor_ids or segment in (user, f"user-{user}")
        else segment
        for segment in name.split(":")
    )


def person_keys(conn: redis.Redis, subject: Subject) -> list[str]:
    """Names of the app's keys that name the person."""
    found = []
    for raw in conn.scan_iter(app_settings.key("*"), count=1000):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        if _names_person(name, subject):
            found.append(name)
    return sorted(found)


def _is_persons(record: EventRecord, subject: Subject) -> bool:
    if subject.user_id is not None and record.user_id == subject.user_id:
        return True
    return record.visitor_id in subject.visitor_ids and (
        record.user_id is None or subject.user_id is None
    )


def _entries(conn: redis.Redis, stream: str) -> Iterator[tuple[bytes, dict[bytes, bytes]]]:
    start = "-"
    while True:
        batch = cast(list, conn.xrange(stream, min=start, count=1000))
        if not batch:
            return
        yield from batch
        last = batch[-1][0].decode()
        millis, seq = last.split("-")
        start = f"{millis}-{int(seq) + 1}"


def _split(
    fields: dict[bytes, bytes], subject: Subject
) -> tuple[list[EventRecord], list[EventRecord]] | None:
    """(the person's records, the others') of one message; None when it cannot be decoded and
    merely mentions the person (the whole message is then theirs)."""
    payload = fields.get(STREAM_FIELD, b"")
    try:
        records = loads(payload)
    except Exception:
        text = b"".join(fields.values())
        if any(marker.encode() in text for marker in subject.visitor_ids):
            return None
        return [], []
    mine = [r for r in records if _is_persons(r, subject)]
    return mine, [r for r in records if not _is_persons(r, subject)]


def streams() -> list[str]:
    return [stream_key(), dead_letter_key()]


def stream_events(conn: redis.Redis, subject: Subject) -> list[dict[str, Any]]:
    """The person's events not yet stored (in the stream) or given up on (dead letters)."""
    found = []
    for stream in streams():
        for msg_id, fields in _entries(conn, stream):
            split = _split(fields, subject)
            for record in (split or ([], []))[0]:
                found.append({"stream": stream, "message": msg_id.decode(), **_record_json(record)})
    return found


def _record_json(record: EventRecord) -> dict[str, Any]:
    row = record.to_row()
    keys = ("event_id", "visitor_id", "user_id", "item_id", "kind", "value", "ts", "client_ts")
    return {**dict(zip(keys, row[:8], strict=True)), "context": row[8]}


def export_live(subject: Subject) -> dict[str, Any]:
    conn = client()
    if conn is None:
        return {"recent_items": {}, "precomputed_lists": {}, "in_flight_events": [], "keys": []}
    recent: dict[str, list[str]] = {}
    if subject.user_id is not None:
        recent[f"user:{subject.user_id}"] = live.recent_items(
            conn, user_id=subject.user_id, limit=app_settings.RECENT_ITEMS
        )
    for visitor in subject.visitor_ids:
        items = live.recent_items(conn, visitor_id=visitor, limit=app_settings.RECENT_ITEMS)
        if items:
            recent[f"visitor:{visitor}"] = items
    lists: dict[str, Any] = {}
    versions = app_settings.key("list-versions")
    for key in subject.list_keys:
        raw = conn.get(app_settings.key(_LIST_PREFIX, key))
        if raw is not None:
            label = conn.hget(versions, key)
            lists[key] = {
                "items": json.loads(raw),
                "model_version": label.decode() if isinstance(label, bytes) else label,
            }
    return {
        "recent_items": {k: v for k, v in recent.items() if v},
        "precomputed_lists": lists,
        "in_flight_events": stream_events(conn, subject),
        "keys": person_keys(conn, subject),
    }


def purge_live(subject: Subject, trending_events: list[tuple[str, int, float]]) -> dict[str, int]:
    """Delete the person's keys, list fields and stream events, and take ``trending_events`` (the
    person's stored events) out of the trending counters."""
    conn = client()
    if conn is None:
        return {}
    counts = {"trending_items": live.forget(conn, trending_events)}
    keys = person_keys(conn, subject)
    if keys:
        conn.delete(*keys)
    counts["keys"] = len(keys)
    fields = list(subject.list_keys)
    counts["list_versions"] = int(conn.hdel(app_settings.key("list-versions"), *fields))
    counts["stream_events"] = _purge_streams(conn, subject)
    return counts


def _purge_streams(conn: redis.Redis, subject: Subject) -> int:
    removed = 0
    for stream in streams():
        for msg_id, fields in list(_entries(conn, stream)):
            split = _split(fields, subject)
            if split is not None and not split[0]:
                continue
            mine, others = split if split is not None else ([], [])
            pipe = conn.pipeline(transaction=True)
            if others:
                replacement: dict[Any, Any] = dict(fields)
                replacement[STREAM_FIELD] = dumps(others)
                pipe.xadd(stream, replacement)
            if stream == stream_key():
                with contextlib.suppress(redis.ResponseError):  # no consumer group yet
                    conn.xack(stream, group_name(), msg_id)
            pipe.xdel(stream, msg_id)
            pipe.execute()
            removed += len(mine) if split is not None else 1
    return removed


def find_live(subject: Subject) -> list[str]:
    """Where Redis still names the person."""
    conn = client()
    if conn is None:
        return []
    found = [f"redis key {_redacted(name, subject)!r}" for name in person_keys(conn, subject)]
    fields = conn.hmget(app_settings.key("list-versions"), list(subject.list_keys))
    if any(value is not None for value in fields):
        found.append("redis list-versions field")
    for stream in streams():
        for _msg_id, fields_ in _entries(conn, stream):
            split = _split(fields_, subject)
            if split is None or split[0]:
                found.append(f"redis stream {stream!r}")
                break
    return found
