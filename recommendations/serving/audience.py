"""Who a request's recommendations are for, from server-side identity only."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from recommendations.catalog import get_catalog
from recommendations.tracking.identity import identity_for

from .pipeline import Audience


def audience_for(request: HttpRequest, *, user: AbstractBaseUser | None = None) -> Audience:
    """The request's user and visitor (and cart). ``user`` overrides for staff preview only."""
    if user is not None:
        return Audience(user_id=user.pk)
    identity = identity_for(request)
    current = getattr(request, "user", None)
    user_id = current.pk if current is not None and current.is_authenticated else None
    visitor_id = identity.known_visitor_id if identity.allowed else None
    return Audience(
        user_id=user_id,
        visitor_id=visitor_id,
        cart_item_ids=get_catalog().cart_item_ids(request),
    )
