"""The one middleware a store adds: identity, consent and automatic product-view capture.

Place it after ``AuthenticationMiddleware`` (system check ``recommendations.E002``). It attaches
``request.recommendations`` (an :class:`~recommendations.tracking.identity.Identity`), records a view
when a successful GET resolves to a URL name listed in ``TRACKED_VIEWS``, and sets the visitor
cookie when one was created. Consent is the adapter's ``tracking_allowed``; views of bots (the
adapter's ``is_bot``) are counted in the quarantine instead of stored.

After its first response a process moves everything it holds then (imported code, URL
patterns, compiled templates, loaded models: about 190,000 objects) out of the garbage
collector's way with :func:`gc.freeze`. Otherwise each full collection walks them all, 0.1 to 0.3 s
during which the process serves nothing; a fallback that keeps new objects (popularity copies,
catalogue descriptions while Redis is away) triggers such collections, and a request pays them.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from .conf import app_settings
from .models import EventKind
from .tracking.api import VIEW_TRACKED_ATTR, track
from .tracking.identity import Identity, tracking_allowed

#: The process that froze its objects (a forked worker starts its own count).
_frozen_in: int | None = None


def _freeze_settled_objects(**kwargs: Any) -> None:
    """Once per process, after its first response has been sent: collect, then freeze what is
    left, so that later full collections walk only what requests have kept since."""
    global _frozen_in
    if _frozen_in == os.getpid():
        return
    _frozen_in = os.getpid()
    gc.collect()
    gc.freeze()


class TrackingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_finished.connect(
            _freeze_settled_objects, dispatch_uid="recommendations.freeze_settled_objects"
        )

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
