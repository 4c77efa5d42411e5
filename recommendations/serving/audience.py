"""Who a request's recommendations are for, from server-side identity only."""

from __future__ import annotations

import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError
from django.http import HttpRequest

from recommendations import fallbacks
from recommendations.catalog import get_catalog
from recommendations.tracking.identity import identity_for, user_id_of
from recommendations.types import Fallback

from .pipeline import Audience

logger = logging.getLogger("recommendations.serving")


def audience_for(request: HttpRequest, *, user: AbstractBaseUser | None = None) -> Audience:
    """The request's user and visitor (and cart). ``user`` overrides for staff preview only.

    Without the database (sessions, a cart kept in it) the visitor is served by their cookie,
    without the cart: a list that ignores the cart beats an error page.
    """
    if user is not None:
        return Audience(user_id=user.pk)
    identity = identity_for(request)
    visitor_id = identity.known_visitor_id if identity.allowed else None
    try:
        cart = tuple(get_catalog().cart_item_ids(request))
    except DatabaseError as exc:
        logger.warning("Cart unavailable (%s); recommending without it", exc)
        fallbacks.note(Fallback.DATABASE)
        cart = ()
    return Audience(user_id=user_id_of(request), visitor_id=visitor_id, cart_item_ids=cart)
