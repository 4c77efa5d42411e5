"""The in-flight form of an event, between capture and the database."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone


@dataclass(slots=True)
class EventRecord:
    """One event as producers build it and the stream carries it.

    ``kind`` is the integer of :class:`recommendations.models.EventKind`.
    """

    kind: int
    item_id: str
    visitor_id: str
    user_id: int | None = None
    value: float | None = None
    context: dict[str, Any] = field(default_factory=dict)
    client_ts: datetime | None = None
    ts: datetime = field(default_factory=timezone.now)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_row(self) -> list[Any]:
        """A compact JSON-able list; the stream's wire form."""
        return [
            self.event_id,
            self.visitor_id,
            self.user_id,
            self.item_id,
            self.kind,
            self.value,
            self.ts.timestamp(),
            self.client_ts.timestamp() if self.client_ts else None,
            self.context,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> EventRecord:
        event_id, visitor_id, user_id, item_id, kind, value, ts, client_ts, context = row
        return cls(
            event_id=str(uuid.UUID(event_id)),
            visitor_id=str(visitor_id),
            user_id=int(user_id) if user_id is not None else None,
            item_id=str(item_id),
            kind=int(kind),
            value=float(value) if value is not None else None,
            ts=datetime.fromtimestamp(float(ts), tz=UTC),
            client_ts=datetime.fromtimestamp(float(client_ts), tz=UTC) if client_ts else None,
            context=dict(context or {}),
        )


def dumps(records: list[EventRecord]) -> bytes:
    return json.dumps([r.to_row() for r in records], separators=(",", ":")).encode()


def loads(payload: bytes | str) -> list[EventRecord]:
    rows = json.loads(payload)
    if not isinstance(rows, list):
        raise ValueError("payload is not a list of events")
    return [EventRecord.from_row(row) for row in rows]
