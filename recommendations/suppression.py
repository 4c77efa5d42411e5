"""Who has been erased: keyed hashes that tracking, ingest and precompute check.

An erased person must not come back through a later request, a replayed stream message or a
training state, yet the suppression list itself must not name them (a scan after the erase finds
no reference). So each entry is ``HMAC(SECRET_KEY, "user:<id>")`` or ``"visitor:<id>"``, the same
value as :func:`django.utils.crypto.salted_hmac` gives, computed with one derived key so that
precompute can check every user of a training state quickly.

Two ways to ask, for two kinds of caller:

* :func:`is_suppressed` (the request path): a process-local copy of all digests, re-read at most
  every :data:`REFRESH_SECONDS`, so a page view costs no query. Another process learns of a new
  erase within that time; until then what it accepts is still refused at ingest.
* :func:`suppressed_digests_among` (ingest, precompute): asks the database every time; this is
  the check that guarantees nothing of an erased person is stored again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError

from recommendations import caches
from recommendations.models import Suppression

logger = logging.getLogger("recommendations.privacy")

_SALT = "recommendations.privacy.suppression"
#: How long a process trusts its copy of the suppression list on the request path.
REFRESH_SECONDS = 10.0


@lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    # What salted_hmac() derives for (key_salt=_SALT, algorithm="sha256") on every call.
    return hashlib.sha256((_SALT + secret).encode()).digest()


def digest(kind: str, value: object) -> str:
    """The keyed hash of ``"<kind>:<value>"`` (kind: ``user`` or ``visitor``)."""
    key = _derived_key(str(settings.SECRET_KEY))
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def user_digest(user_id: int | str) -> str:
    return digest(Suppression.Kind.USER, user_id)


def visitor_digest(visitor_id: str) -> str:
    return digest(Suppression.Kind.VISITOR, visitor_id)


class _Copy:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.digests: frozenset[str] = frozenset()
        self.read_at = float("-inf")

    def get(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self.read_at < REFRESH_SECONDS:
            return self.digests
        with self.lock:
            if now - self.read_at >= REFRESH_SECONDS:
                try:
                    self.digests = frozenset(Suppression.objects.values_list("digest", flat=True))
                except DatabaseError:
                    # Keep the last copy; ingest asks the database itself.
                    logger.warning("Suppression list unreadable; using the last copy")
                self.read_at = now
        return self.digests

    def clear(self) -> None:
        with self.lock:
            self.digests = frozenset()
            self.read_at = float("-inf")


_copy = _Copy()
caches.register("privacy suppressions", _copy.clear)


def clear_cache() -> None:
    """Forget this process's copy (after an erase, so this process refuses at once)."""
    _copy.clear()


def anyone_suppressed() -> bool:
    """Whether the list is non-empty (this process's copy): most sites never erase anyone, and
    their requests then need no further look."""
    return bool(_copy.get())


def is_suppressed(*, user_id: int | None = None, visitor_id: str | None = None) -> bool:
    """Whether the user or the visitor was erased (from this process's copy of the list)."""
    digests = _copy.get()
    if not digests:
        return False
    if user_id is not None and user_digest(user_id) in digests:
        return True
    return visitor_id is not None and visitor_digest(visitor_id) in digests


def suppressed_digests_among(digests: Iterable[str]) -> set[str]:
    """Those of ``digests`` on the suppression list, asked of the database now."""
    wanted = list(set(digests))
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        found.update(
            Suppression.objects.filter(digest__in=wanted[start : start + 5000]).values_list(
                "digest", flat=True
            )
        )
    return found


def suppressed_user_keys(keys: Iterable[str]) -> set[str]:
    """Training's user keys (``"42"``, ``"v:<visitor>"``) that belong to erased people, checked
    against the whole list read now (it is far shorter than a training state's users)."""
    stored = set(Suppression.objects.values_list("digest", flat=True))
    if not stored:
        return set()
    return {
        key
        for key in keys
        if (visitor_digest(key[2:]) if key.startswith("v:") else user_digest(key)) in stored
    }


def suppressed_records(user_ids: Iterable[int | None], visitor_ids: Iterable[str]) -> set[str]:
    """The digests of those users and visitors that are suppressed, asked of the database now:
    one query per batch of events."""
    digests = {user_digest(u) for u in user_ids if u is not None}
    digests |= {visitor_digest(v) for v in visitor_ids}
    return suppressed_digests_among(digests) if digests else set()
