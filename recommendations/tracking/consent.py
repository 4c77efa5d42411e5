"""Whether a request may be tracked at all.

``Sec-GPC: 1`` (Global Privacy Control) is always honoured; ``DNT: 1`` when ``RESPECT_DNT``; with
``CONSENT_REQUIRED`` nothing is tracked until the consent cookie holds ``granted``.
"""

from __future__ import annotations

from django.http import HttpRequest

from recommendations.conf import app_settings


def tracking_allowed(request: HttpRequest) -> bool:
    headers = request.headers
    if headers.get("Sec-GPC") == "1":
        return False
    if app_settings.RESPECT_DNT and headers.get("DNT") == "1":
        return False
    if app_settings.CONSENT_REQUIRED:
        return request.COOKIES.get(app_settings.CONSENT_COOKIE_NAME) == "granted"
    return True
