"""Self-service export and erase for the signed-in user (GDPR Art. 15, 17, 20).

Thin shells over :mod:`recommendations.privacy`. Session authentication only, so the erase (a
POST) needs Django's CSRF token: another site's page cannot erase somebody's history by making
their browser post. The browser's own visitor cookie counts as the user's even when it was never
linked to the account.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recommendations.models import ErasureRequest
from recommendations.privacy import ErasureBusy, erase, export
from recommendations.tracking.identity import identity_for

from .serializers import DetailSerializer
from .throttling import OptionalScopedRateThrottle

#: How long a self-service erase waits for a training run to release the lease.
ERASE_WAIT_SECONDS = 5.0


class ErasureSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ErasureRequest.Status.choices)
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(
        allow_null=True, help_text="When a scan of every store found nothing left."
    )
    message = serializers.CharField(allow_blank=True)


def _browser_visitor(request: Request) -> tuple[str, ...]:
    visitor = identity_for(request._request).known_visitor_id
    return (visitor,) if visitor else ()


class PrivacyExportView(APIView):
    """Everything the app holds about the signed-in user, as one JSON document: events, visitor
    links, quarantine flags, recent items, precomputed lists, events in flight, training-state
    rows and model user factors."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OptionalScopedRateThrottle]
    throttle_scope = "recommendations"

    @extend_schema(
        operation_id="privacy_export",
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="The export document."),
            403: OpenApiResponse(DetailSerializer, description="Not signed in."),
            429: OpenApiResponse(DetailSerializer, description="Throttled."),
        },
    )
    def get(self, request: Request) -> Response:
        document = export(user_id=request.user.pk, extra_visitors=_browser_visitor(request))
        response = Response(document)
        response["Content-Disposition"] = 'attachment; filename="recommendations-export.json"'
        return response


class PrivacyEraseView(APIView):
    """Erase everything the app holds about the signed-in user, and stop tracking them.

    * 200: erased and verified (``status`` ``completed``), or ``failed`` with the stores named;
    * 202: ``pending``: tracking already refuses the user, and a training run is in progress;
      post again after it to finish the erase.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OptionalScopedRateThrottle]
    throttle_scope = "recommendations"

    @extend_schema(
        operation_id="privacy_erase",
        request=None,
        responses={
            200: OpenApiResponse(ErasureSerializer, description="Erased (or failed, and why)."),
            202: OpenApiResponse(ErasureSerializer, description="Pending: post again later."),
            403: OpenApiResponse(DetailSerializer, description="Not signed in, or no CSRF token."),
            429: OpenApiResponse(DetailSerializer, description="Throttled."),
        },
    )
    def post(self, request: Request) -> Response:
        code: int
        try:
            record = erase(
                user_id=request.user.pk,
                extra_visitors=_browser_visitor(request),
                via=ErasureRequest.Via.SELF_SERVICE,
                wait=ERASE_WAIT_SECONDS,
            )
            code = status.HTTP_200_OK
        except ErasureBusy as busy:
            record, code = busy.request, status.HTTP_202_ACCEPTED
        return Response(ErasureSerializer(record).data, status=code)
