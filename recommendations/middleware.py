"""The one middleware a store adds: identity, consent and automatic product-view capture.

Place it after ``AuthenticationMiddleware`` (system check ``recommendations.E002``). It attaches
``request.recommendations`` (an :class:`~recommendations.tracking.identity.Identity`), records a view
when a successful GET resolves to a URL name listed in ``TRACKED_VIEWS``, and sets the visitor
cookie when one was created. Consent is the adapter's ``tracking_allowed``; views of bots (the
adapter's ``is_bot``) are counted in the quarantine instead of stored.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .conf import app_settings
from .models import EventKind
from .tracking.api import VIEW_TRACKED_ATTR, track
from .tracking.identity import Identity, tracking_allowed


class TrackingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        identity = Identity(request, allowed=tracking_allowed(request))
        request.recommendations = identity  # type: ignore[attr-defined]  # the app's own request attribute
        response = self.get_response(request)
        if identity.allowed:
            self._track_view(request, response)
            identity.apply(response)
        return response

    @staticmethod
    def _track_view(request: HttpRequest, response: HttpResponse) -> None:
        if request.method != "GET" or response.status_code != 200:
            return
        match = request.resolver_match
        if match is None or getattr(request, VIEW_TRACKED_ATTR, False):
            return
        kwarg = app_settings.TRACKED_VIEWS.get(match.view_name)
        if kwarg is not None and kwarg in match.kwargs:
            # Nobody is told a view was stored: while Redis is away its database write does not
            # make the page wait for the disk.
            track(request, EventKind.VIEW, str(match.kwargs[kwarg]), durable=False)
