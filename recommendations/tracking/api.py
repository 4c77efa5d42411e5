"""The plain functions views and receivers call to record behaviour."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest

from recommendations.models import EventKind

from .identity import identity_for
from .quarantine import quarantined
from .records import EventRecord
from .sinks import emit

#: Set on the request by explicit capture so the middleware does not record the view twice.
VIEW_TRACKED_ATTR = "_recommendations_view_tracked"


def skip_view_tracking(request: HttpRequest) -> None:
    """The middleware records no view for this request (a staff preview, a page rendered for a
    check or a load test), though the visitor keeps their identity and personal lists."""
    setattr(request, VIEW_TRACKED_ATTR, True)


def page_context(request: HttpRequest) -> dict[str, Any]:
    """Where an event happened: the path and the referrer's path (never a host, query or IP)."""
    context: dict[str, Any] = {"path": request.path[:256]}
    referrer = request.headers.get("Referer")
    if referrer:
        context["referrer"] = urlsplit(referrer).path[:256]
    return context


def build_record(
    request: HttpRequest,
    kind: EventKind,
    item_id: str,
    *,
    value: float | None = None,
    context: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> EventRecord | None:
    """An event attributed to the request's visitor and user, or None when tracking is declined
    or the request is a bot's (its event is then counted in the quarantine)."""
    identity = identity_for(request)
    if not identity.allowed or quarantined(request, (int(kind),)):
        return None
    return EventRecord(
        kind=int(kind),
        item_id=str(item_id),
        visitor_id=identity.visitor_id,
        user_id=user_id if user_id is not None else identity.user_id,
        value=value,
        context=context if context is not None else page_context(request),
    )


def track(
    request: HttpRequest,
    kind: EventKind,
    item_id: str,
    *,
    value: float | None = None,
    context: dict[str, Any] | None = None,
    durable: bool = True,
) -> None:
    """Record that the request's visitor did ``kind`` with ``item_id``.

    Honours consent, never raises for storage problems, and delivers after the current
    transaction commits; ``durable=False``: see :func:`~.sinks.deliver`.
    """
    record = build_record(request, kind, item_id, value=value, context=context)
    if record is not None:
        emit([record], durable=durable)
