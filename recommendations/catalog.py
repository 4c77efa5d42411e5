"""The only module that touches the host's product model.

The app sees products as opaque text keys (``item_id``). A catalogue adapter, named by the
``CATALOG_ADAPTER`` setting, answers the few questions the app has about them. The default
:class:`ModelCatalog` works for a plain product model named by ``PRODUCT_MODEL``; a store with
richer rules (stock, visibility, brands) subclasses it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import redis
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.http import HttpRequest

from . import redis_client
from .conf import app_settings

logger = logging.getLogger("recommendations.catalog")


@dataclass(frozen=True, slots=True)
class ItemInfo:
    """What recommendations need to know about one product."""

    item_id: str
    title: str
    description: str = ""
    category: str = ""
    brand: str = ""
    price: Decimal | None = None
    in_stock: bool = True
    active: bool = True
    url: str = ""


class ModelCatalog:
    """Adapter over one Django model whose ``key_field`` is the item id."""

    #: Seconds a confirmed-existing item id is remembered by :meth:`existing_ids`.
    known_ids_ttl: float = 60.0

    def __init__(self) -> None:
        self._known: dict[str, float] = {}
        self._known_version: bytes | None = None

    @property
    def model(self) -> type[models.Model]:
        label = app_settings.PRODUCT_MODEL
        if not label:
            raise ImproperlyConfigured(
                "RECOMMENDATIONS['PRODUCT_MODEL'] must name the product model ('app_label.Model') "
                "when the default catalogue adapter is used."
            )
        return apps.get_model(label)

    @property
    def key_field(self) -> str:
        return app_settings.PRODUCT_KEY_FIELD

    def get_queryset(self) -> models.QuerySet:
        return self.model._default_manager.all()

    def existing_ids(self, item_ids: Iterable[str]) -> set[str]:
        """The subset of ``item_ids`` that name a product; recent answers are cached in-process.

        The cache is dropped whenever the shared catalogue version moves (see
        :func:`items_changed`), so a deleted product stops being accepted at once in services mode.
        """
        now = time.monotonic()
        version = current_version()
        if version != self._known_version:
            self._known = {}
            self._known_version = version
        wanted = set(item_ids)
        known = {i for i in wanted if self._known.get(i, 0.0) > now}
        missing = [i for i in wanted - known if self._is_valid_key(i)]
        if missing:
            lookup = {f"{self.key_field}__in": missing}
            found = {
                str(key)
                for key in self.get_queryset()
                .filter(**lookup)
                .values_list(self.key_field, flat=True)
            }
            expiry = now + self.known_ids_ttl
            for item_id in found:
                self._known[item_id] = expiry
            known |= found
        return known

    def _is_valid_key(self, item_id: str) -> bool:
        """Whether ``item_id`` can be a value of the key field at all (``"abc"`` for an integer pk can't)."""
        meta = self.model._meta
        field = meta.pk if self.key_field == "pk" else meta.get_field(self.key_field)
        try:
            field.to_python(item_id)
        except ValidationError:
            return False
        return True

    def describe(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        """ItemInfo for each existing id, keyed by id."""
        lookup = {f"{self.key_field}__in": list(item_ids)}
        return {
            info.item_id: info
            for info in (self.to_info(obj) for obj in self.get_queryset().filter(**lookup))
        }

    def fallback_ids(self, limit: int, category: str | None = None) -> list[str]:
        """Items to fill a list when behaviour data is too thin (a new store); override to choose."""
        keys = self.get_queryset().values_list(self.key_field, flat=True)[:limit]
        return [str(key) for key in keys]

    def cart_item_ids(self, request: HttpRequest) -> tuple[str, ...]:
        """Item ids in the request's cart; override so cart slots and filters know the cart."""
        return ()

    def all_items(self) -> Iterable[ItemInfo]:
        """Every product, for training features. Iterates in chunks."""
        for obj in self.get_queryset().iterator(chunk_size=2000):
            yield self.to_info(obj)

    def to_info(self, obj: Any) -> ItemInfo:
        """Override to map a richer product model."""
        return ItemInfo(
            item_id=str(getattr(obj, self.key_field)),
            title=str(getattr(obj, "title", None) or getattr(obj, "name", None) or obj),
            description=str(getattr(obj, "description", "") or ""),
            price=getattr(obj, "price", None),
            url=obj.get_absolute_url() if hasattr(obj, "get_absolute_url") else "",
        )


def current_version() -> bytes | None:
    """The shared catalogue version, or None when it cannot be read (no caching then)."""
    if not (app_settings.services_mode and redis_client.available()):
        return None
    try:
        client = redis_client.get_redis()
        version = client.get(_version_key())
        if version is None:
            client.set(_version_key(), 1, nx=True)
            version = client.get(_version_key())
        return version
    except redis.RedisError as exc:
        redis_client.mark_down()
        logger.warning(
            "Catalogue version unavailable (%s); describing items from the database", exc
        )
        return None


def items_changed(**kwargs: Any) -> None:
    """Tell serving processes that products changed, once the transaction commits.

    Connected to the product model's ``post_save`` and ``post_delete``; call it yourself after
    changes that bypass ``save()`` (``QuerySet.update``, raw SQL) and alter what ItemInfo holds.
    """

    def bump() -> None:
        if not app_settings.services_mode:
            return
        try:
            redis_client.get_redis().incr(_version_key())
        except redis.RedisError as exc:
            # Without the bump other processes could keep stale stock: make them stop caching.
            redis_client.mark_down()
            logger.error("Could not publish a catalogue change (%s)", exc)

    transaction.on_commit(bump, robust=True)


def _version_key() -> str:
    return app_settings.key("catalog", "version")


@cache
def _catalog(adapter_class: type[ModelCatalog]) -> ModelCatalog:
    return adapter_class()


def get_catalog() -> ModelCatalog:
    """The configured catalogue adapter (one instance per adapter class and process)."""
    return _catalog(app_settings.CATALOG_ADAPTER)
