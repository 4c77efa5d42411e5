"""Who an event belongs to, decided on the server only.

A visitor is a random id in a signed cookie; a user is ``request.user``. Nothing in a request body
can name either, so a client cannot write events as someone else.
"""

from __future__ import annotations

import logging
import uuid
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.http import is_same_domain

from recommendations import caches
from recommendations.conf import app_settings

_SALT = "recommendations.visitor"

logger = logging.getLogger("recommendations.tracking")


class Identity:
    """The visitor and user of one request; attached to it as ``request.recommendations``."""

    __slots__ = ("_request", "_visitor_id", "allowed", "rotate", "set_cookie")

    def __init__(self, request: HttpRequest, *, allowed: bool) -> None:
        self._request = request
        self._visitor_id: str | None = None
        self.allowed = allowed
        self.set_cookie = False
        self.rotate = False

    @property
    def visitor_id(self) -> str:
        """The visitor id from the cookie, or a new one that the response will set."""
        if self._visitor_id is None:
            visitor_id = _read_cookie(self._request)
            if visitor_id is None:
                visitor_id = uuid.uuid4().hex
                self.set_cookie = True
            self._visitor_id = visitor_id
        return self._visitor_id

    @property
    def known_visitor_id(self) -> str | None:
        """The visitor id if the browser already has one; never creates one."""
        if self._visitor_id is None and not self.set_cookie:
            return _read_cookie(self._request)
        return self._visitor_id

    @property
    def user_id(self) -> int | None:
        return user_id_of(self._request)

    def start_new_visitor(self) -> None:
        """Forget the current visitor id (at logout, so the next person is somebody new)."""
        self._visitor_id = uuid.uuid4().hex
        self.set_cookie = True

    def apply(self, response: HttpResponse) -> None:
        if self.set_cookie and self.allowed:
            response.set_signed_cookie(
                app_settings.VISITOR_COOKIE_NAME,
                self.visitor_id,  # set whenever set_cookie is
                salt=_SALT,
                max_age=app_settings.VISITOR_COOKIE_AGE,
                secure=app_settings.VISITOR_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )


def user_id_of(request: HttpRequest) -> int | None:
    """The signed-in user's id, or ``None``; also ``None`` while the session cannot be read (its
    store is the database and the database is away): the visitor cookie still names the person,
    and their visitor id is linked to the account from their last login."""
    user = getattr(request, "user", None)
    try:
        if user is not None and user.is_authenticated:
            return user.pk
    except DatabaseError as exc:
        logger.warning("Session unavailable (%s); treating the request as anonymous", exc)
    return None


def _read_cookie(request: HttpRequest) -> str | None:
    name = app_settings.VISITOR_COOKIE_NAME
    raw = request.COOKIES.get(name)
    return None if raw is None else _unsign(raw, name, settings.SECRET_KEY)


@lru_cache(maxsize=16384)
def _unsign(raw: str, name: str, secret: str) -> str | None:
    """The visitor id in a signed cookie value, or None.

    Checking a signature costs about 0.1 ms and a returning visitor sends the same value on every
    request, so verdicts are remembered (the cookie carries no expiry of its own to re-check;
    ``secret`` is part of the key so a rotated SECRET_KEY is honoured).
    """
    carrier = HttpRequest()
    carrier.COOKIES = {name: raw}
    try:
        value = carrier.get_signed_cookie(name, salt=_SALT)
    except signing.BadSignature:
        return None
    return value if value is not None and len(value) == 32 and value.isalnum() else None


caches.register("visitor cookie verdicts", _unsign.cache_clear)


def cross_site_reason(request: HttpRequest) -> str | None:
    """Why the request comes from another site's page, or None when it does not.

    A browser attaches the visitor cookie to a request that another site's page makes (older
    browsers even to a cross-site POST), so such a request could write events into a visitor's
    history, which is stitched onto their account at login and shapes what they are shown. A
    browser says where a request comes from: ``Sec-Fetch-Site: cross-site``, or an ``Origin``
    other than this host's (or one of ``CSRF_TRUSTED_ORIGINS``). A request with neither header
    is not a browser's cross-site request (a server-side client sends none).
    """
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
        return "Sec-Fetch-Site is cross-site"
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    if not _trusted_origin(origin.strip().lower(), request):
        return f"Origin {origin[:100]!r} is not this site"
    return None


def _trusted_origin(origin: str, request: HttpRequest) -> bool:
    """The same checks as Django's CSRF middleware: this host, or a trusted origin (with
    ``*.`` subdomain patterns). ``null`` (sandboxed frames, file: pages) is never trusted."""
    if origin == "null":
        return False
    try:
        own = f"{request.scheme}://{request.get_host()}".lower()
    except Exception:  # DisallowedHost: not this site either
        return False
    if origin == own:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:  # "http://[oops": no origin at all, so not a trusted one
        return False
    for trusted in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
        trusted = trusted.lower()
        if origin == trusted:
            return True
        scheme, wildcard, pattern = trusted.partition("://*")
        if wildcard and parts.scheme == scheme and is_same_domain(parts.netloc, pattern):
            return True
    return False


def identity_for(request: HttpRequest) -> Identity:
    """The request's identity, created on first use when the middleware did not run."""
    identity = getattr(request, "recommendations", None)
    if identity is None:
        identity = Identity(request, allowed=tracking_allowed(request))
        request.recommendations = identity  # type: ignore[attr-defined]  # the app's own request attribute
    return identity


def tracking_allowed(request: HttpRequest) -> bool:
    """The adapter's ``tracking_allowed``; an adapter that raises means no tracking (the privacy-
    safe answer) rather than a failed page. Never for an erased user or visitor cookie
    (:mod:`recommendations.suppression`; the user is looked at only once someone was erased)."""
    from recommendations import suppression
    from recommendations.catalog import get_catalog

    try:
        if not get_catalog().tracking_allowed(request):
            return False
    except Exception:
        logger.exception("The catalogue adapter's tracking_allowed() failed; not tracking")
        return False
    try:
        if not suppression.anyone_suppressed():
            return True
        if suppression.is_suppressed(visitor_id=_read_cookie(request)):
            return False
        user_id = user_id_of(request)  # None while the session is unreadable
        return not (user_id is not None and suppression.is_suppressed(user_id=user_id))
    except Exception:
        logger.exception("The suppression list could not be checked; not tracking")
        return False
