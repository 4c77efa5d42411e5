"""Parsers that hand the view the raw body, bounded by ``BEACON_MAX_BYTES``.

The beacon validates JSON itself (pydantic, per-event errors), so DRF only checks the media type
and the size here.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser

from recommendations.conf import app_settings


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class RawJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        limit = app_settings.BEACON_MAX_BYTES
        too_large = RequestTooLarge(f"Request body is larger than {limit} bytes.")
        declared = parser_context["request"].META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > limit:
            raise too_large
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise too_large
        return body


class RawTextParser(RawJSONParser):
    """``navigator.sendBeacon`` sends a string body as text/plain, which needs no CORS preflight."""

    media_type = "text/plain"
