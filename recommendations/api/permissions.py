"""Who may call the API's endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from recommendations.tracking.identity import cross_site_reason


class SameSiteOnly(BasePermission):
    """Refuses a request another site's page made (see ``cross_site_reason``), before its body
    is read: events posted from there would land in the history of whoever's cookie the browser
    attached. Refused rather than stored unattributed, so that a store sees the misuse (403) and
    nothing of it ever reaches a model or an account."""

    def has_permission(self, request: Request, view: Any) -> bool:
        reason = cross_site_reason(request._request)
        if reason is None:
            return True
        # Raised here: DRF would answer an anonymous request's refusal "not authenticated".
        raise PermissionDenied(
            f"Cross-site event batches are refused ({reason}); post events from this site's "
            "own pages."
        )
