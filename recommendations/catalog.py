"""The only module that touches the host's product model.

The app sees products as opaque text keys (``item_id``). A catalogue adapter, named by the
``CATALOG_ADAPTER`` setting, answers the few questions the app has about them. The default
:class:`ModelCatalog` works for a plain product model named by ``PRODUCT_MODEL``; a store with
richer rules (stock, visibility, brands) subclasses it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.http import HttpRequest

from .conf import app_settings


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
        """The subset of ``item_ids`` that name a product; recent answers are cached in-process."""
        now = time.monotonic()
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


@cache
def _catalog(adapter_class: type[ModelCatalog]) -> ModelCatalog:
    return adapter_class()


def get_catalog() -> ModelCatalog:
    """The configured catalogue adapter (one instance per adapter class and process)."""
    return _catalog(app_settings.CATALOG_ADAPTER)
