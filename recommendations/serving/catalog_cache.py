"""An in-process copy of catalogue lookups, exact because it is versioned.

Describing candidates is the one database query a recommendation request would otherwise make.
In services mode the web process keeps the ItemInfo it has seen and reads one Redis counter per
request; any product change bumps the counter (see :func:`recommendations.catalog.items_changed`),
which drops every process's copy. So filters stay exact while most requests never reach the
database. In embedded mode, or while Redis is away, every lookup goes to the adapter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from recommendations import caches
from recommendations.catalog import ItemInfo, current_version, get_catalog

_MAX_ENTRIES = 200_000


class CatalogCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: bytes | None = None
        self._items: dict[str, ItemInfo | None] = {}

    def describe(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        wanted = set(item_ids)
        version = current_version()
        if version is None:
            return get_catalog().describe(wanted)
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

    def known(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        """What the process already knows of ``item_ids``, however old: the answer while the
        catalogue cannot be read. Products changed since then may be described as they were."""
        with self._lock:
            found = {i: self._items.get(i) for i in item_ids}
        return {i: info for i, info in found.items() if info is not None}

    def clear(self) -> None:
        with self._lock:
            self._items = {}
            self._version = None


cache = CatalogCache()
caches.register("catalogue copy", cache.clear, caches.Change.CATALOGUE)
