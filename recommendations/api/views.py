"""REST endpoints of the app. Views are thin: they call the plain functions under tracking/."""

from __future__ import annotations

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from recommendations.conf import app_settings
from recommendations.tracking.beacon import BeaconRejected, parse_batch, to_records
from recommendations.tracking.identity import identity_for
from recommendations.tracking.sinks import Outcome, deliver

_JSON_TYPES = ("application/json", "text/plain")


class EventBatchView(APIView):
    """Accept a batch of events from a browser beacon or a headless client.

    ``POST {"events": [{"event_id": uuid, "kind": "click", "item_id": "42", ...}, ...]}``

    * 202 ``{"accepted": n}``: every event is stored or safely queued (duplicates count once);
    * 400 ``{"detail": ..., "errors": [{"index": i, "field": f, "message": m}]}``: nothing stored;
    * 413: the body is larger than ``BEACON_MAX_BYTES``; 415: not JSON;
    * 503 with ``Retry-After``: the batch could not be stored durably; resend it unchanged.

    ``text/plain`` is accepted because ``navigator.sendBeacon`` sends it without a preflight.
    """

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "recommendations_events"
    parser_classes: list = []

    def post(self, request: Request) -> Response:
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type not in _JSON_TYPES:
            return Response(
                {
                    "detail": f"Content-Type must be application/json, not {content_type or 'empty'!r}."
                },
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        limit = app_settings.BEACON_MAX_BYTES
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > limit:
            return _too_large(limit)
        body = request.stream.read(limit + 1) if request.stream else b""
        if len(body) > limit:
            return _too_large(limit)

        try:
            events = parse_batch(body)
        except BeaconRejected as rejected:
            return Response(
                {
                    "detail": "The batch was rejected; nothing was stored.",
                    "errors": [error.as_dict() for error in rejected.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )

        identity = identity_for(request._request)
        if not identity.allowed:
            return Response(
                {"accepted": 0, "tracking": "declined"}, status=status.HTTP_202_ACCEPTED
            )
        user = request.user
        records = to_records(
            events,
            visitor_id=identity.visitor_id,
            user_id=user.pk if user.is_authenticated else None,
        )
        if deliver(records) is Outcome.DROPPED:
            return Response(
                {"detail": "Events could not be stored; retry later with the same event ids."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        return Response({"accepted": len(records)}, status=status.HTTP_202_ACCEPTED)


def _too_large(limit: int) -> Response:
    return Response(
        {"detail": f"Request body is larger than {limit} bytes."},
        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )
