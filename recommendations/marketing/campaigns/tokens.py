"""Attribution tokens of campaigns: ``campaign.<key>.<random>``.

A campaign's banner or items carry the token like a slot's list does, so the beacon sends it back
with impressions and clicks. ``merchandising.attribution.parse_token`` reads it as the slot
``campaign`` with the campaign key as its source; :func:`campaign_key` reads the key.
"""

from __future__ import annotations

import re
import secrets

from recommendations.tracking.beacon import CAMPAIGN_TOKEN_PREFIX

_TOKEN = re.compile(r"^campaign\.([a-z0-9_-]{1,40})\.[0-9a-f]{12}")


def token_for(key: str) -> str:
    return f"{CAMPAIGN_TOKEN_PREFIX}{key}.{secrets.token_hex(6)}"


def campaign_key(token: object) -> str | None:
    """The campaign a token names, or ``None`` for a slot's token (or anything else)."""
    if not isinstance(token, str):
        return None
    match = _TOKEN.match(token)
    return None if match is None else match.group(1)
