"""REST endpoints of the app. Views are thin: they call the plain functions under tracking/."""

from __future__ import annotations

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from recommendations.tracking.beacon import BeaconRejected, parse_batch, to_records
from recommendations.tracking.identity import identity_for
from recommendations.tracking.sinks import Outcome, deliver

from .parsers import RawJSONParser, RawTextParser


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
    parser_classes = [RawJSONParser, RawTextParser]

    def post(self, request: Request) -> Response:
        body = request.data
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
