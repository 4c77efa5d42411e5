"""An in-process copy of catalogue lookups, exact because it is versioned.

Describing candidates is the one database query a recommendation request would otherwise make.
In services mode the web process keeps the ItemInfo it has seen and reads one Redis counter per
request; any product change bumps the counter (see :func:`recommendations.catalog.items_changed`),
which drops every process's copy. So filters stay exact while most requests never reach the
database. In embedded mode every lookup goes to the adapter. While Redis is away the counter
cannot be read: each description is then reused for :data:`UNVERSIONED_SECONDS`, so a page does
not ask the database once per slot, and a product change shows after at most that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from recommendations import caches
from recommendations.catalog import ItemInfo, current_version, get_catalog
from recommendations.conf import app_settings

_MAX_ENTRIES = 200_000
#: How long a description is reused while the shared counter cannot be read.
UNVERSIONED_SECONDS = 5.0


class CatalogCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: bytes | None = None
        self._items: dict[str, ItemInfo | None] = {}
        self._unversioned: dict[str, tuple[float, ItemInfo | None]] = {}

    def describe(
        self, item_ids: Iterable[str], *, version: bytes | None = None
    ) -> dict[str, ItemInfo]:
        """``version``: the shared counter as the request already read it (else read here)."""
        wanted = set(item_ids)
        if version is None:
            version = current_version()
        if version is None:
            if not app_settings.services_mode:
                return get_catalog().describe(wanted)
            return self._describe_unversioned(wanted)
        with self._lock:
            if version != self._version or len(self._items) > _MAX_ENTRIES:
                self._items = {}
                self._version = version
            known = {i: self._items[i] for i in wanted if i in self._items}
        missing = wanted - known.keys()
        if missing:
            found = get_catalog().describe(missing)
            with self._lock:
                if self._version == version:
                    for item_id in missing:
                        self._items[item_id] = found.get(item_id)
            known.update(found)
        return {i: info for i, info in known.items() if info is not None}

    def _describe_unversioned(self, wanted: set[str]) -> dict[str, ItemInfo]:
        now = time.monotonic()
        with self._lock:
            if len(self._unversioned) > _MAX_ENTRIES:
                self._unversioned = {}
            fresh = {
                i: entry[1]
                for i in wanted
                if (entry := self._unversioned.get(i)) is not None and entry[0] > now
            }
        missing = wanted - fresh.keys()
        if missing:
            found = get_catalog().describe(missing)
            expiry = now + UNVERSIONED_SECONDS
            with self._lock:
                for item_id in missing:
                    self._unversioned[item_id] = (expiry, found.get(item_id))
            fresh.update(found)
        return {i: info for i, info in fresh.items() if info is not None}

    def known(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        """What the process already knows of ``item_ids``, however old: the answer while the
        catalogue cannot be read. Products changed since then may be described as they were."""
        with self._lock:
            found = {i: self._items.get(i) for i in item_ids}
        return {i: info for i, info in found.items() if info is not None}

    def clear(self) -> None:
        with self._lock:
            self._items = {}
            self._unversioned = {}
            self._version = None


cache = CatalogCache()
caches.register("catalogue copy", cache.clear, caches.Change.CATALOGUE)
