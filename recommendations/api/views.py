"""REST endpoints of the app. Views are thin: they call the plain functions under tracking/."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from django.http import HttpRequest, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations import fallbacks
from recommendations.conf import app_settings
from recommendations.models import EventKind
from recommendations.serving.audience import audience_for
from recommendations.serving.pipeline import (
    MAX_EXCLUDE,
    OverLimit,
    Recommendations,
    UnknownItem,
    recommend,
)
from recommendations.tracking.beacon import BeaconRejected, parse_batch, to_records
from recommendations.tracking.identity import identity_for
from recommendations.tracking.quarantine import quarantined
from recommendations.tracking.sinks import Outcome, deliver
from recommendations.types import Fallback, Slot

from .parsers import RawJSONParser, RawTextParser, is_chunked, raw_body
from .permissions import SameSiteOnly
from .serializers import (
    DetailSerializer,
    EventBatchSerializer,
    EventsAcceptedSerializer,
    EventsRejectedSerializer,
    RecommendationQuerySerializer,
    RecommendationsSerializer,
)
from .throttling import OptionalScopedRateThrottle, deferred_count

logger = logging.getLogger("recommendations.api")
preview_logger = logging.getLogger("recommendations.preview")
#: DRF's validation error body: each parameter at fault, with its messages.
PARAMETER_ERRORS = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "example": {"item": ["unknown item '42'"]},
}
#: The longest item id the recommendations endpoint's ``exclude`` accepts.
MAX_EXCLUDE_ID_LENGTH = 100
_SLOTS = frozenset(s.value for s in Slot)


class ServesWithoutDatabase(APIView):
    """A view that still answers while the database is away: a session (or token) that cannot be
    read makes the request anonymous instead of failing it, and the visitor cookie still says who
    it is. Views that need the database for their own work do not use this."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        with fallbacks.collecting():  # what the answer does without is noted for it
            return super().dispatch(request, *args, **kwargs)

    def perform_authentication(self, request: Request) -> None:
        try:
            request.user  # noqa: B018  (authenticates: DRF resolves the user lazily)
        except DatabaseError as exc:
            logger.warning("Authentication unavailable (%s); serving the request anonymously", exc)
            fallbacks.note(Fallback.DATABASE)
            request.user = AnonymousUser()
            request.auth = None


class EventBatchView(ServesWithoutDatabase):
    """Accept a batch of events from a browser beacon or a headless client.

    ``POST {"events": [{"event_id": uuid, "kind": "click", "item_id": "42", ...}, ...]}``

    * 202 ``{"accepted": n}``: every event is stored or safely queued (duplicates count once);
    * 202 ``{"accepted": 0, "tracking": "declined" | "quarantined"}``: nothing stored, because
      consent is missing or the client is a bot (its events are counted in the quarantine);
    * 400 ``{"detail": ..., "errors": [{"index": i, "field": f, "message": m}]}``: nothing stored;
    * 403: posted from another site's page (``Origin`` or ``Sec-Fetch-Site``); nothing stored;
    * 413: the body is larger than ``BEACON_MAX_BYTES``; 415: not JSON;
    * 503 with ``Retry-After``: the batch could not be stored durably; resend it unchanged.

    ``text/plain`` is accepted because ``navigator.sendBeacon`` sends it without a preflight.
    """

    permission_classes = [SameSiteOnly]
    throttle_classes = [OptionalScopedRateThrottle]
    throttle_scope = "recommendations_events"
    parser_classes = [RawJSONParser, RawTextParser]

    @extend_schema(
        request={
            "application/json": EventBatchSerializer,
            "text/plain": EventBatchSerializer,
        },
        responses={
            202: OpenApiResponse(
                EventsAcceptedSerializer, description="Stored or safely queued, or declined."
            ),
            400: OpenApiResponse(
                EventsRejectedSerializer, description="Nothing was stored: one error per problem."
            ),
            403: OpenApiResponse(
                DetailSerializer,
                description="Posted from another site's page (Origin / Sec-Fetch-Site); "
                "nothing was stored.",
            ),
            413: OpenApiResponse(
                DetailSerializer, description="The body is larger than BEACON_MAX_BYTES."
            ),
            415: OpenApiResponse(
                DetailSerializer, description="Neither application/json nor text/plain."
            ),
            429: OpenApiResponse(
                DetailSerializer, description="Throttled (when a rate is configured)."
            ),
            503: OpenApiResponse(
                DetailSerializer,
                description="Not stored durably; resend the same batch after Retry-After.",
            ),
        },
        parameters=[
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[429, 503],
                description="Seconds to wait before resending.",
            )
        ],
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        body = raw_body(request)
        try:
            batch = parse_batch(body)
        except BeaconRejected as rejected:
            content: dict[str, object] = {
                "detail": "The batch was rejected; nothing was stored.",
                "errors": [error.as_dict() for error in rejected.errors],
            }
            if not body and is_chunked(request):
                return _closing_response(content, status.HTTP_400_BAD_REQUEST)
            return Response(content, status=status.HTTP_400_BAD_REQUEST)
        events = batch.events

        identity = identity_for(request._request)
        if not identity.allowed:
            return Response(
                {"accepted": 0, "tracking": "declined"}, status=status.HTTP_202_ACCEPTED
            )
        if quarantined(request._request, (EventKind.from_name(event.kind) for event in events)):
            return Response(
                {"accepted": 0, "tracking": "quarantined"}, status=status.HTTP_202_ACCEPTED
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
        accepted: dict[str, int] = {"accepted": len(records)}
        if batch.duplicates:
            accepted["duplicates"] = batch.duplicates
        return Response(accepted, status=status.HTTP_202_ACCEPTED)


def _closing_response(content: dict[str, object], status_code: int) -> StreamingHttpResponse:
    """A JSON answer without ``Content-Length``, for a body the server left unread.

    A server that does not decode chunked bodies (Django's runserver) leaves the chunks on the
    connection, where they would be read as the next request; WSGI lets an application neither
    read them nor send ``Connection: close``, but such a server closes the connection after a
    response of unknown length. Servers that keep the connection (gunicorn) decode the body and
    discard what is left of it themselves.
    """
    return StreamingHttpResponse(
        iter([json.dumps(content).encode()]),
        status=status_code,
        content_type="application/json",
    )


class RecommendationsView(ServesWithoutDatabase):
    """Recommendations for the current user or visitor in one slot.

    A user with the ``recommendations.preview_as_user`` permission (``is_staff`` alone is not
    enough) may preview any user's list with ``?as_user=<id>``; every preview is logged to the
    ``recommendations.preview`` logger. Nobody else can name a user: the audience is the request's
    own session and visitor cookie.
    """

    permission_classes = [AllowAny]
    throttle_classes = [OptionalScopedRateThrottle]
    throttle_scope = "recommendations"
    #: The throttle's count rides on the round trip that reads the list (services mode).
    throttle_count_deferred = True

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "slot", OpenApiTypes.STR, OpenApiParameter.PATH, enum=[s.value for s in Slot]
            ),
            RecommendationQuerySerializer,
            OpenApiParameter(
                "exclude",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                many=True,
                explode=False,
                description=(
                    "Item ids the list must not contain, comma-separated (or the parameter "
                    "repeated): the items other lists on the client's page already show. At "
                    f"most {MAX_EXCLUDE} ids of up to {MAX_EXCLUDE_ID_LENGTH} characters; the "
                    "list is still filled to `limit` when the catalogue allows."
                ),
            ),
        ],
        responses={
            200: RecommendationsSerializer,
            400: OpenApiResponse(
                PARAMETER_ERRORS,
                description="A query parameter is invalid, or `item` names no product: each "
                "parameter at fault with its messages.",
            ),
            404: OpenApiResponse(DetailSerializer, description="No such slot."),
            429: OpenApiResponse(
                DetailSerializer, description="Throttled (when a rate is configured)."
            ),
        },
    )
    def get(self, request: Request, slot: str) -> Response:
        deferred = deferred_count(request)
        params = _plain_query(request.query_params)
        if deferred is not None and (params is None or slot not in _SLOTS):
            # Not the common request: counted first, as the throttle would have counted it.
            if deferred.over_limit():
                raise Throttled(deferred.throttle.wait()) from None
            deferred = None
        try:
            slot_value = Slot(slot)
        except ValueError:
            raise NotFound(
                f"Unknown slot {slot!r}; one of: {', '.join(s.value for s in Slot)}."
            ) from None
        try:
            exclude = parse_exclude(request.query_params.getlist("exclude"))
        except ValueError as exc:
            if deferred is not None and deferred.over_limit():
                raise Throttled(deferred.throttle.wait()) from None
            return Response({"exclude": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        if params is None:
            query = RecommendationQuerySerializer(
                data=request.query_params, context={"request": request}
            )
            query.is_valid(raise_exception=True)
            params = query.validated_data
        preview_user = params.get("as_user")
        if preview_user is not None:
            preview_logger.info(
                "%s previewed %s recommendations of user %s",
                request.user,
                slot_value,
                preview_user.pk,
            )
        try:
            result = recommend(
                slot_value,
                audience_for(request._request, user=preview_user),
                item_id=params.get("item"),
                limit=params.get("limit"),
                exclude=exclude,
                count=deferred.count if deferred is not None else None,
            )
        except OverLimit:
            assert deferred is not None
            raise Throttled(deferred.throttle.wait()) from None
        except UnknownItem as exc:
            return Response({"item": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(as_json(result))


def _plain_query(query: QueryDict) -> dict[str, Any] | None:
    """The validated query of the common request (at most ``limit``, a valid number, and
    ``exclude``) without building the serializer, which costs more than the rest of the view's
    own work; ``None`` for anything else, which ``RecommendationQuerySerializer`` validates
    (and words the errors of)."""
    limit = None
    for name in query:
        if name == "limit":
            value = query.get(name, "")  # the last value, as the serializer reads it
            if not (value.isascii() and value.isdigit()):
                return None
            limit = int(value)
            if not 1 <= limit <= app_settings.MAX_LIMIT:
                return None
        elif name != "exclude":
            return None
    return {} if limit is None else {"limit": limit}


def parse_exclude(values: list[str]) -> list[str]:
    """The ``exclude`` query parameter's item ids, in order, without repeats.

    Raises ``ValueError`` with a message for the client: an empty id (``1,,2``), one with spaces
    or control characters or longer than ``MAX_EXCLUDE_ID_LENGTH``, or more than ``MAX_EXCLUDE``.
    """
    ids: list[str] = []
    for value in values:
        for part in value.split(","):
            if not part:
                raise ValueError("Item ids must not be empty; separate them with single commas.")
            if len(part) > MAX_EXCLUDE_ID_LENGTH or not part.isprintable() or " " in part:
                raise ValueError(
                    f"{part[:20]!r} is not an item id: at most {MAX_EXCLUDE_ID_LENGTH} printable "
                    "characters without spaces."
                )
            ids.append(part)
    if len(ids) > MAX_EXCLUDE:
        raise ValueError(f"At most {MAX_EXCLUDE} item ids may be excluded, not {len(ids)}.")
    return list(dict.fromkeys(ids))


def as_json(result: Recommendations) -> dict:
    """The response body; built by hand because it is on the hot path (see RecommendationsSerializer)."""
    return {
        "slot": result.slot.value,
        "token": result.token,
        "degraded": result.degraded,
        "items": [
            {
                "position": r.position,
                "item_id": r.item.item_id,
                "title": r.item.title,
                "url": r.item.url,
                "category": r.item.category,
                "brand": r.item.brand,
                "price": None if r.item.price is None else str(r.item.price),
                "score": round(r.score, 6),
                "reason": {
                    "kind": r.reason.kind.value,
                    "about": r.reason.about,
                    "text": r.reason_text,
                },
                "rules": ",".join(str(rule_id) for rule_id in r.rule_ids),
            }
            for r in result.items
        ],
    }
