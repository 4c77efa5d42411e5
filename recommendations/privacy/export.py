"""Everything the app holds about a person as one JSON document (GDPR Art. 15 and 20).

The document is built from the same per-store modules that erase uses, so whatever erase purges
is also what export shows: stored events, visitor links, quarantine flags, live recent items,
precomputed lists, events still in flight, training-state rows and model user factors, and
whether the person is on the suppression list.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from recommendations.models import ErasureRequest
from recommendations.suppression import suppressed_digests_among

from .database import export_rows
from .files import export_files
from .live_state import export_live
from .subject import Subject, resolve

#: Bumped when the document's shape changes.
FORMAT = 1


def export(
    *,
    user_id: int | None = None,
    visitor_id: str | None = None,
    extra_visitors: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The export document of a user (with all their visitor ids) or a bare visitor id."""
    subject = resolve(user_id=user_id, visitor_id=visitor_id, extra_visitors=extra_visitors)
    return export_subject(subject)


def export_subject(subject: Subject) -> dict[str, Any]:
    rows = export_rows(subject)
    live = export_live(subject)
    lists = {**rows.pop("precomputed_lists_db"), **live.pop("precomputed_lists")}
    requests = ErasureRequest.objects.filter(subject_digest=subject.digest).order_by("pk")
    document = {
        "format": FORMAT,
        "generated_at": timezone.now(),
        "subject": {
            "user_id": subject.user_id,
            "visitor_ids": list(subject.visitor_ids),
            "order_ids": list(subject.order_ids),
        },
        **rows,
        "recent_items": live["recent_items"],
        "precomputed_lists": lists,
        "in_flight_events": live["in_flight_events"],
        "redis_keys": live["keys"],
        **export_files(subject),
        "erasure": {
            "suppressed": bool(suppressed_digests_among(subject.digests)),
            "requests": [
                {
                    "status": r.status,
                    "requested_at": r.requested_at,
                    "completed_at": r.completed_at,
                    "verified_at": r.verified_at,
                }
                for r in requests
            ],
        },
    }
    # Plain JSON types only (datetimes as ISO 8601), whoever serialises it next.
    result: dict[str, Any] = json.loads(json.dumps(document, cls=DjangoJSONEncoder))
    return result
