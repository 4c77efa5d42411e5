"""Explicit product-view capture, for views that ``TRACKED_VIEWS`` cannot describe."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from recommendations.models import EventKind

from .api import VIEW_TRACKED_ATTR, track

ItemResolver = Callable[..., str | None]


def _mark_and_track(request: HttpRequest, item_id: Any) -> None:
    setattr(request, VIEW_TRACKED_ATTR, True)
    if item_id is not None:
        track(request, EventKind.VIEW, str(item_id))


def tracks_item_view(resolve_item: ItemResolver) -> Callable:
    """Record a view of the item ``resolve_item(request, *args, **kwargs)`` after a 200 GET.

    ``@tracks_item_view(lambda request, slug: Product.objects.get(slug=slug).pk)``
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if request.method == "GET" and response.status_code == 200:
                _mark_and_track(request, resolve_item(request, *args, **kwargs))
            return response

        return wrapper

    return decorator


class TrackItemViewMixin:
    """For DetailView-style views: records a view of ``get_tracked_item_id()`` after a 200 GET.

    The default id is ``self.object.pk``.
    """

    def get_tracked_item_id(self) -> Any:
        return self.object.pk  # type: ignore[attr-defined]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 200:
            _mark_and_track(request, self.get_tracked_item_id())
        return response
