"""Parsers that hand the view the raw body, bounded by ``BEACON_MAX_BYTES``.

The beacon validates JSON itself (pydantic, per-event errors), so DRF only checks the media type
and the size here. DRF parses nothing when a request has no ``Content-Length`` (an empty or a
chunked body), so :func:`raw_body` reads those itself, under the same limit.
"""

from __future__ import annotations

from typing import Any, Protocol

from rest_framework import status
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from recommendations.conf import app_settings

#: An over-limit body is read and thrown away up to this many bytes before the 413 is sent, so a
#: keep-alive connection stays usable on servers that keep unread input for the next request
#: (gunicorn drains only 64 KiB and then closes a connection it has announced as kept alive).
DRAIN_MAX_BYTES = 1024 * 1024
_DRAIN_CHUNK = 64 * 1024


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class RawJSONParser(BaseParser):
    media_type = "application/json"

    # The raw body, validated by the view itself: DRF takes any parse result as ``request.data``
    # although its stubs say a mapping.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        limit = app_settings.BEACON_MAX_BYTES
        declared = parser_context["request"].META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()) or int(declared) > limit:
            if stream is not None:
                _drain(stream)
            raise _too_large()
        return read_bounded(stream) if stream is not None else b""


class RawTextParser(RawJSONParser):
    """``navigator.sendBeacon`` sends a string body as text/plain, which needs no CORS preflight."""

    media_type = "text/plain"


def _too_large() -> RequestTooLarge:
    return RequestTooLarge(f"Request body is larger than {app_settings.BEACON_MAX_BYTES} bytes.")


def _drain(stream: _Readable) -> None:
    """Read what is left of a refused body (bounded), so the next request starts where it should."""
    left = DRAIN_MAX_BYTES
    while left > 0:
        chunk = stream.read(min(_DRAIN_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)


def read_bounded(stream: _Readable) -> bytes:
    """At most ``BEACON_MAX_BYTES`` of ``stream``; :class:`RequestTooLarge` if there is more.

    Reads ``limit + 1`` bytes and never more before deciding, whatever the body's framing, so an
    unannounced (chunked) body cannot make the process hold more than the limit.
    """
    limit = app_settings.BEACON_MAX_BYTES
    body = b""
    while len(body) <= limit:
        chunk = stream.read(limit + 1 - len(body))
        if not chunk:
            return body
        body += chunk
    _drain(stream)
    raise _too_large()


def is_chunked(request: Request) -> bool:
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def raw_body(request: Request) -> bytes:
    """The request's body as bytes, whether or not it came with a ``Content-Length``.

    With a length, DRF's parsers above read it (checking the media type and the limit). Without
    one DRF reads nothing and gives an empty mapping: for a chunked body the server's decoded
    input (``wsgi.input``; the spooled body under ASGI) is read here instead, bounded the same way.
    Servers that do not decode chunked bodies (Django's runserver) pass nothing on, so the body is
    empty and the beacon answers 400.
    """
    data = request.data
    if isinstance(data, bytes):
        return data
    negotiator = request.negotiator
    if (
        request.content_type
        and negotiator is not None
        and negotiator.select_parser(request, request.parsers or ()) is None
    ):
        raise UnsupportedMediaType(request.content_type)
    if not is_chunked(request):
        return b""
    stream: _Readable = request.META.get("wsgi.input") or request._request
    return read_bounded(stream)
