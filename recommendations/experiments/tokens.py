"""The experiment suffix of attribution tokens: ``<slot>.<sources>.<random>.x<experiment>-<variant>``.

Impressions and clicks carry the token back, so the suffix credits them to a variant without a
table of served lists. ``merchandising.attribution.parse_token`` reads only the first two parts,
so reports that do not know experiments are unaffected.
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"\.x(\d+)-([a-z0-9_]{1,20})$")


def suffix(experiment_id: int, variant_key: str) -> str:
    return f".x{experiment_id}-{variant_key}"


def parse_suffix(token: object) -> tuple[int, str] | None:
    """``(experiment id, variant key)`` of a token that carries one, else ``None``."""
    if not isinstance(token, str):
        return None
    match = _SUFFIX.search(token)
    return None if match is None else (int(match.group(1)), match.group(2))
