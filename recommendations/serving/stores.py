"""Where precomputed lists live: Redis in services mode, a database table in embedded mode.

A list is stored as one pre-serialised JSON value (``[[item_id, score], ...]``) so that reading it
costs one round trip and one ``json.loads``. Keys name what the list is for:

* ``user:<user_id>`` — for-you, from the active model;
* ``item:<item_id>:similar`` / ``:also-viewed`` / ``:bought-together``;
* ``trending`` and ``trending:category:<name>``; ``popular`` and ``popular:category:<name>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Protocol

import redis
from django.db import DatabaseError, transaction

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.models import PrecomputedList

logger = logging.getLogger("recommendations.serving")

RankedList = list[tuple[str, float]]


class StoreUnavailable(Exception):
    """The store could not be read; the pipeline falls back to popularity from the database."""


class ListStore(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, RankedList]: ...

    def put_many(self, lists: Mapping[str, RankedList], *, model_version: str = "") -> None: ...

    def delete_prefix(self, prefix: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def model_version(self, key: str) -> str | None: ...


def _encode(items: RankedList) -> str:
    return json.dumps(
        [[item_id, round(float(score), 6)] for item_id, score in items], separators=(",", ":")
    )


def _decode(raw: bytes | str) -> RankedList:
    return [(str(item_id), float(score)) for item_id, score in json.loads(raw)]


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
        try:
            values = self.client.mget([self._key(k) for k in keys])
        except redis.RedisError as exc:
            redis_client.mark_down()
            raise StoreUnavailable(str(exc)) from exc
        return {
            key: _decode(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

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
        version = self.client.hget(app_settings.key("list-versions"), key)
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
