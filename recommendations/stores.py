"""Where precomputed lists live: Redis in services mode, a database table in embedded mode.

A list is stored as one pre-serialised JSON value (``[[item_id, score], ...]``) so that reading it
costs one round trip and one ``json.loads``. Keys name what the list is for:

* ``user:<user_id>`` — for-you, from the active model;
* ``item:<item_id>:similar`` / ``:also-viewed`` / ``:bought-together``;
* ``trending`` and ``trending:category:<name>``; ``popular`` and ``popular:category:<name>``.

Each list carries the label of what wrote it (a model version such as ``itemknn-12``, ``views-3``
for also-viewed, or :data:`CONTENT_LABEL`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Protocol, cast

import redis
from django.db import DatabaseError, transaction
from django.utils import timezone

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models import PrecomputedList

logger = logging.getLogger("recommendations.serving")

RankedList = list[tuple[str, float]]

#: Label of ``item:<id>:similar`` lists computed from catalogue text and category alone, for items
#: that have no list from a trained model yet. Serving gives them their own reason; a model's list
#: replaces them and they never replace a model's list (:meth:`ListStore.fill_many`).
CONTENT_LABEL = "content"


class StoreUnavailable(Exception):
    """The store could not be read; the pipeline falls back to popularity from the database."""


class ListStore(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, RankedList]: ...

    def get_many_labelled(self, keys: list[str]) -> dict[str, tuple[RankedList, str]]: ...

    def put_many(self, lists: Mapping[str, RankedList], *, model_version: str = "") -> None: ...

    def fill_many(self, lists: Mapping[str, RankedList], *, model_version: str) -> int: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def model_version(self, key: str) -> str | None: ...


#: KEYS: the label hash, then the list keys; ARGV: the label, then (field, value) per list key.
_FILL_SCRIPT = """
local written = 0
for i = 2, #KEYS do
  local field, value = ARGV[2 * i - 2], ARGV[2 * i - 1]
  if redis.call('EXISTS', KEYS[i]) == 0 or redis.call('HGET', KEYS[1], field) == ARGV[1] then
    redis.call('SET', KEYS[i], value)
    redis.call('HSET', KEYS[1], field, ARGV[1])
    written = written + 1
  end
end
return written
"""


def _encode(items: RankedList) -> str:
    return json.dumps(
        [[item_id, round(float(score), 6)] for item_id, score in items], separators=(",", ":")
    )


def decode_list(raw: bytes | str) -> RankedList:
    """A list as stored in Redis (see :func:`_encode`); a copy the caller may change."""
    return list(_decoded(raw))


@functools.lru_cache(maxsize=512)
def _decoded(raw: bytes | str) -> tuple[tuple[str, float], ...]:
    """Lists are read far more often than written, and an item's neighbour list is read for
    every visitor who viewed it: each stored value is decoded once per process. Keyed by the
    value itself, so a rewritten list is decoded anew. A list of 100 items holds about 16 KB
    decoded with its key: some 8 MB at most at the default ``PRECOMPUTE_LENGTH``."""
    return tuple((str(item_id), float(score)) for item_id, score in json.loads(raw))


def list_key(name: str) -> str:
    """The Redis key of the list named ``name`` (``user:7``, ``item:42:similar``)."""
    return app_settings.key("list", name)


def labels_key() -> str:
    """The Redis hash of each list's label (what wrote it), by list name."""
    return app_settings.key("list-versions")


def _require_breaker_closed() -> None:
    """Reads on the request path honour the breaker: after a failure they fail at once for
    ``REDIS_RETRY_AFTER`` seconds instead of waiting for a timeout each."""
    if not redis_client.available():
        raise StoreUnavailable("Redis was unreachable a moment ago; not asking again yet")


class RedisListStore:
    def __init__(self, client: redis.Redis | None = None) -> None:
        self._client = client

    @property
    def client(self) -> redis.Redis:
        return self._client or redis_client.get_redis()

    def _key(self, key: str) -> str:
        return app_settings.key("list", key)

    def get_many(self, keys: list[str]) -> dict[str, RankedList]:
        if not keys:
            return {}
        _require_breaker_closed()
        try:
            values = self.client.mget([self._key(k) for k in keys])
        except redis.RedisError as exc:
            redis_client.mark_down()
            raise StoreUnavailable(str(exc)) from exc
        return {
            key: decode_list(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def get_many_labelled(self, keys: list[str]) -> dict[str, tuple[RankedList, str]]:
        """Lists with the label of what wrote them, in one round trip."""
        if not keys:
            return {}
        _require_breaker_closed()
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.mget([self._key(k) for k in keys])
            pipe.hmget(app_settings.key("list-versions"), keys)
            values, labels = pipe.execute()
        except redis.RedisError as exc:
            redis_client.mark_down()
            raise StoreUnavailable(str(exc)) from exc
        return {
            key: (decode_list(value), label.decode() if label is not None else "")
            for key, value, label in zip(keys, values, labels, strict=True)
            if value is not None
        }

    def fill_many(self, lists: Mapping[str, RankedList], *, model_version: str) -> int:
        """Write each list unless its key holds one labelled otherwise; returns lists written.

        Checked and written by one Lua script, so a list a training run writes meanwhile is
        never overwritten.
        """
        versions = app_settings.key("list-versions")
        pending = list(lists.items())
        written = 0
        for start in range(0, len(pending), 500):  # bounded scripts: Redis runs them blocking
            chunk = pending[start : start + 500]
            keys = [versions, *(self._key(key) for key, _ in chunk)]
            args = [model_version]
            for key, items in chunk:
                args += [key, _encode(items)]
            written += int(self.client.eval(_FILL_SCRIPT, len(keys), *keys, *args))
        return written

    def put_many(self, lists: Mapping[str, RankedList], *, model_version: str = "") -> None:
        pipe = self.client.pipeline(transaction=False)
        versions = app_settings.key("list-versions")
        for i, (key, items) in enumerate(lists.items(), 1):
            pipe.set(self._key(key), _encode(items))
            pipe.hset(versions, key, model_version)
            if i % 1000 == 0:
                pipe.execute()
        pipe.execute()

    def delete_prefix(self, prefix: str) -> None:
        keys = self.keys(prefix)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.client.delete(*[self._key(k) for k in chunk])
            self.client.hdel(app_settings.key("list-versions"), *chunk)

    def keys(self, prefix: str) -> list[str]:
        offset = len(self._key(""))
        return [
            k.decode()[offset:] for k in self.client.scan_iter(self._key(prefix) + "*", count=1000)
        ]

    def model_version(self, key: str) -> str | None:
        # The client does not decode replies: bytes or None.
        version = cast(bytes | None, self.client.hget(app_settings.key("list-versions"), key))
        return None if version is None else version.decode()


class DatabaseListStore:
    def get_many(self, keys: list[str]) -> dict[str, RankedList]:
        if not keys:
            return {}
        try:
            rows = PrecomputedList.objects.filter(key__in=keys).values_list("key", "items")
            return {key: [(str(i), float(s)) for i, s in items] for key, items in rows}
        except DatabaseError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def get_many_labelled(self, keys: list[str]) -> dict[str, tuple[RankedList, str]]:
        if not keys:
            return {}
        try:
            rows = PrecomputedList.objects.filter(key__in=keys).values_list(
                "key", "items", "model_version"
            )
            return {
                key: ([(str(i), float(s)) for i, s in items], label) for key, items, label in rows
            }
        except DatabaseError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def fill_many(self, lists: Mapping[str, RankedList], *, model_version: str) -> int:
        """Write each list unless its key holds one labelled otherwise; returns lists written.

        New keys are inserted ignoring conflicts and existing ones updated only while they still
        carry ``model_version``, so a list a training run writes meanwhile is never overwritten.
        """
        if not lists:
            return 0
        with transaction.atomic():
            existing = dict(
                PrecomputedList.objects.filter(key__in=list(lists)).values_list(
                    "key", "model_version"
                )
            )
            PrecomputedList.objects.bulk_create(
                [
                    PrecomputedList(
                        key=key,
                        items=[[i, float(s)] for i, s in items],
                        model_version=model_version,
                    )
                    for key, items in lists.items()
                    if key not in existing
                ],
                batch_size=1000,
                ignore_conflicts=True,
            )
            written = len(lists) - len(existing)
            now = timezone.now()
            for key, label in existing.items():
                if label == model_version:
                    written += PrecomputedList.objects.filter(
                        key=key, model_version=model_version
                    ).update(items=[[i, float(s)] for i, s in lists[key]], updated=now)
        return written

    def put_many(self, lists: Mapping[str, RankedList], *, model_version: str = "") -> None:
        rows = [
            PrecomputedList(
                key=key, items=[[i, float(s)] for i, s in items], model_version=model_version
            )
            for key, items in lists.items()
        ]
        with transaction.atomic():
            PrecomputedList.objects.bulk_create(
                rows,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["key"],
                update_fields=["items", "model_version", "updated"],
            )

    def delete_prefix(self, prefix: str) -> None:
        PrecomputedList.objects.filter(key__startswith=prefix).delete()

    def keys(self, prefix: str) -> list[str]:
        return list(
            PrecomputedList.objects.filter(key__startswith=prefix).values_list("key", flat=True)
        )

    def model_version(self, key: str) -> str | None:
        return (
            PrecomputedList.objects.filter(key=key).values_list("model_version", flat=True).first()
        )


def get_store() -> ListStore:
    """The store for this mode."""
    return RedisListStore() if app_settings.services_mode else DatabaseListStore()


def keys_for_items(item_ids: Iterable[str], relation: str) -> list[str]:
    return [f"item:{item_id}:{relation}" for item_id in item_ids]
