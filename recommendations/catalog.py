"""The only module that touches the host's product model.

The app sees products as opaque text keys (``item_id``). A catalogue adapter, named by the
``CATALOG_ADAPTER`` setting, answers the few questions the app has about them. The default
:class:`ModelCatalog` works for a plain product model named by ``PRODUCT_MODEL``, reading title,
category, brand, price, stock, visibility and URL from the fields ``PRODUCT_FIELDS`` names (or
from fields with the usual names); a store with rules no field expresses subclasses it.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from typing import Any, cast

import redis
from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import HttpRequest

from . import caches, redis_client
from .conf import app_settings
from .policies import automated_reason, consent_allows, excluded_order_ids, flagged_user_keys

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


#: The attributes ``PRODUCT_FIELDS`` may map, each with the lookups tried when it is left out, so
#: that a product model with the usual field names needs no mapping at all. An unsuitable default
#: (no such field, a relation without a name, a stock that is text) is skipped, never an error.
PRODUCT_FIELD_DEFAULTS: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "__str__"),
    "description": ("description",),
    "category": ("category__name", "category__title", "category"),
    "brand": ("brand__name", "brand__title", "brand"),
    "price": ("price",),
    "stock": ("stock", "in_stock"),
    "active": ("active", "is_active"),
    "url": ("get_absolute_url",),
}

#: Attributes that must be model fields, because :meth:`ModelCatalog.fallback_ids` filters on them
#: in the database.
_DATABASE_ONLY = frozenset({"stock", "active"})
_NUMBER_FIELDS = (models.IntegerField, models.DecimalField, models.FloatField)


class FieldMappingError(ValueError):
    """A ``PRODUCT_FIELDS`` entry the product model cannot answer.

    ``kind`` says which system check reports it: ``"shape"`` (the setting itself), ``"lookup"``
    (no such field) or ``"type"`` (a stock or active field of the wrong type).
    """

    def __init__(self, message: str, *, kind: str, hint: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.hint = hint


@dataclass(frozen=True, slots=True)
class ProductFields:
    """Where each ItemInfo attribute is read from, resolved once against the product model.

    Plain lookups can be read with ``values_list()`` (one flat query, no model instances); a
    method or property needs instances, so :meth:`ModelCatalog.describe` only builds them then.
    """

    lookups: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, str] = field(default_factory=dict)
    stock_is_bool: bool = False
    stock_nullable: bool = False

    @property
    def relations(self) -> list[str]:
        """``select_related()`` paths the lookups pass through."""
        return sorted(
            {lookup.rsplit("__", 1)[0] for lookup in self.lookups.values() if "__" in lookup}
        )

    def sellable(self) -> Q:
        """Products that mapped stock and active fields allow to be recommended.

        A null stock means the store does not count it (in stock); a null active flag is not active.
        """
        condition = Q()
        if active := self.lookups.get("active"):
            condition &= Q(**{active: True})
        if stock := self.lookups.get("stock"):
            in_stock = Q(**{stock: True}) if self.stock_is_bool else Q(**{f"{stock}__gt": 0})
            if self.stock_nullable:
                in_stock |= Q(**{f"{stock}__isnull": True})
            condition &= in_stock
        return condition

    def read(self, obj: Any) -> dict[str, Any]:
        """The mapped attributes' raw values on a model instance."""
        values: dict[str, Any] = {}
        for attr, lookup in self.lookups.items():
            value = obj
            for part in lookup.split("__"):
                value = getattr(value, part, None)
                if value is None:
                    break
            values[attr] = value
        for attr, name in self.methods.items():
            value = getattr(obj, name)
            values[attr] = value() if callable(value) else value
        return values

    def info(self, item_id: str, values: Mapping[str, Any]) -> ItemInfo:
        """ItemInfo from raw values by attribute; an attribute not in ``values`` keeps its default."""
        stock = values.get("stock")
        if "stock" not in values or stock is None:
            in_stock = True
        else:
            in_stock = bool(stock) if self.stock_is_bool else stock > 0
        return ItemInfo(
            item_id=item_id,
            title=_text(values.get("title")) or item_id,
            description=_text(values.get("description")),
            category=_text(values.get("category")),
            brand=_text(values.get("brand")),
            price=_decimal(values.get("price")),
            in_stock=in_stock,
            active=bool(values["active"]) if "active" in values else True,
            url=_text(values.get("url")),
        )


def resolve_product_fields(
    model: type[models.Model], mapping: Any
) -> tuple[ProductFields, list[FieldMappingError]]:
    """``PRODUCT_FIELDS`` resolved against ``model``, with every problem of its explicit entries.

    Explicit entries win over :data:`PRODUCT_FIELD_DEFAULTS`; ``None`` maps an attribute to
    nothing. The system checks report the problems; the adapter refuses to run with any.
    """
    errors = product_fields_shape_errors(mapping)
    if errors:
        return ProductFields(), errors
    lookups: dict[str, str] = {}
    methods: dict[str, str] = {}
    stock_is_bool = stock_nullable = False
    for attr, defaults in PRODUCT_FIELD_DEFAULTS.items():
        explicit = attr in mapping
        for lookup in (mapping[attr],) if explicit else defaults:
            if lookup is None:
                break
            lookup = lookup.replace(".", "__")
            try:
                source, nullable = _resolve(model, attr, lookup)
            except FieldMappingError as exc:
                if explicit:
                    errors.append(exc)
                continue
            if source is None:
                methods[attr] = lookup
            else:
                lookups[attr] = lookup
                if attr == "stock":
                    stock_is_bool = isinstance(source, models.BooleanField)
                    stock_nullable = nullable
            break
    return ProductFields(lookups, methods, stock_is_bool, stock_nullable), errors


def product_fields_shape_errors(mapping: Any) -> list[FieldMappingError]:
    """Problems of the setting's own shape: a dict of known attribute names to text or None."""
    hint = f"Map some of {', '.join(PRODUCT_FIELD_DEFAULTS)} to field names, e.g. {{'category': 'category__name'}}."
    if not isinstance(mapping, dict):
        return [
            FieldMappingError(
                f"RECOMMENDATIONS['PRODUCT_FIELDS'] must be a dict, not {type(mapping).__name__}.",
                kind="shape",
                hint=hint,
            )
        ]
    errors = []
    for attr, lookup in mapping.items():
        if attr not in PRODUCT_FIELD_DEFAULTS:
            errors.append(
                FieldMappingError(
                    f"RECOMMENDATIONS['PRODUCT_FIELDS'] has an unknown key {attr!r}.",
                    kind="shape",
                    hint=hint,
                )
            )
        elif lookup is not None and not (isinstance(lookup, str) and lookup):
            errors.append(
                FieldMappingError(
                    f"RECOMMENDATIONS['PRODUCT_FIELDS'][{attr!r}] must be a field name or None, "
                    f"not {lookup!r}.",
                    kind="shape",
                    hint=hint,
                )
            )
    return errors


def _resolve(model: type[models.Model], attr: str, lookup: str) -> tuple[models.Field | None, bool]:
    """The field ``lookup`` ends on and whether it can be null on the way (``None`` for a method)."""
    where = f"RECOMMENDATIONS['PRODUCT_FIELDS'][{attr!r}] = {lookup!r}"
    parts = lookup.split("__")
    current, nullable = model, False
    target: Any = None
    for index, part in enumerate(parts):
        try:
            target = current._meta.get_field(part)
        except FieldDoesNotExist:
            if len(parts) == 1 and attr not in _DATABASE_ONLY and _is_method(model, part):
                return None, False
            hint = (
                f"{attr} must be a field of the model (it is filtered in the database)."
                if attr in _DATABASE_ONLY and _is_method(model, part)
                else "Name a field; follow a relation with '__' (e.g. 'category__name')."
            )
            raise FieldMappingError(
                f"{where}: {current._meta.label} has no field {part!r}.", kind="lookup", hint=hint
            ) from None
        if index < len(parts) - 1:
            if not (target.concrete and (target.many_to_one or target.one_to_one)):
                raise FieldMappingError(
                    f"{where}: {current._meta.label}.{part} is not a foreign key or one-to-one field.",
                    kind="lookup",
                    hint="Only single-valued relations can be followed: a product has one value.",
                )
            nullable = nullable or target.null
            current = target.related_model
    if target.is_relation or not target.concrete:
        raise FieldMappingError(
            f"{where}: {current._meta.label}.{parts[-1]} is a relation, not a value.",
            kind="lookup",
            hint=f"Name a field of the related model, e.g. '{lookup}__name'.",
        )
    if attr == "stock" and not isinstance(target, (*_NUMBER_FIELDS, models.BooleanField)):
        raise FieldMappingError(
            f"{where}: {type(target).__name__} cannot say whether a product is in stock.",
            kind="type",
            hint="Map stock to a number field (in stock when > 0) or a BooleanField.",
        )
    if attr == "active" and not isinstance(target, models.BooleanField):
        raise FieldMappingError(
            f"{where}: {type(target).__name__} cannot say whether a product is shown.",
            kind="type",
            hint="Map active to a BooleanField.",
        )
    return target, nullable or target.null


def _is_method(model: type[models.Model], name: str) -> bool:
    """Whether ``name`` is a method or property of the model (``get_absolute_url``, ``__str__``)."""
    if name.startswith("_") and name != "__str__":
        return False
    try:
        member = inspect.getattr_static(model, name)
    except AttributeError:
        return False
    return isinstance(member, property | cached_property) or inspect.isfunction(member)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class ModelCatalog:
    """Adapter over one Django model whose ``key_field`` is the item id."""

    #: Seconds a confirmed-existing item id is remembered by :meth:`existing_ids`.
    known_ids_ttl: float = 60.0

    def __init__(self) -> None:
        self._known: dict[str, float] = {}
        self._known_version: bytes | None = None
        self._fields: tuple[type[models.Model], Any, ProductFields] | None = None

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

    @property
    def product_fields(self) -> ProductFields:
        """``PRODUCT_FIELDS`` resolved against :attr:`model`; resolved again when either changes."""
        model, mapping = self.model, app_settings.PRODUCT_FIELDS
        cached = getattr(self, "_fields", None)  # a subclass __init__ may not call ours
        if cached is not None and cached[0] is model and cached[1] == mapping:
            return cached[2]
        resolved, errors = resolve_product_fields(model, mapping)
        if errors:
            raise ImproperlyConfigured(f"{errors[0]} {errors[0].hint}".strip())
        self._fields = (model, dict(mapping), resolved)
        return resolved

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
        if not isinstance(field, models.Field):  # a reverse relation holds no values of its own
            return False
        try:
            field.to_python(item_id)
        except ValidationError:
            return False
        return True

    def describe(self, item_ids: Iterable[str]) -> dict[str, ItemInfo]:
        """ItemInfo for each existing id, keyed by id, without descriptions (no list shows them).

        Every recommendation request may call this: it is one query, of plain values unless a
        mapped attribute is a method (``get_absolute_url``) or :meth:`to_info` is overridden, and
        then of instances with the mapped relations joined in.
        """
        keys = [item_id for item_id in set(item_ids) if self._is_valid_key(item_id)]
        if not keys:
            return {}
        products = self.get_queryset().filter(**{f"{self.key_field}__in": keys})
        if type(self).to_info is not ModelCatalog.to_info:
            return {info.item_id: info for info in map(self.to_info, products)}
        fields = self.product_fields
        if fields.methods:
            return {info.item_id: info for info in map(self.to_info, self._joined(products))}
        lookups = {attr: lookup for attr, lookup in fields.lookups.items() if attr != "description"}
        columns = list(dict.fromkeys(lookups.values()))
        infos = {}
        for key, *row in products.values_list(self.key_field, *columns):
            values = dict(zip(columns, row, strict=True))
            infos[str(key)] = fields.info(
                str(key), {attr: values[lookup] for attr, lookup in lookups.items()}
            )
        return infos

    def fallback_ids(self, limit: int, category: str | None = None) -> list[str]:
        """Sellable items to fill a list when behaviour data is too thin (a new store).

        Newest first unless the model is ordered, from ``category`` first when the category is a
        mapped field; override to choose differently.
        """
        fields = self.product_fields
        products = self.get_queryset().filter(fields.sellable())
        if not products.ordered:
            products = products.order_by("-pk")
        keys: list[str] = []
        if category and (category_lookup := fields.lookups.get("category")):
            in_category = products.filter(**{category_lookup: category})
            keys = [str(key) for key in in_category.values_list(self.key_field, flat=True)[:limit]]
        if len(keys) < limit:
            seen = set(keys)
            more = products.values_list(self.key_field, flat=True)[: limit + len(keys)]
            keys += [str(key) for key in more if str(key) not in seen]
        return keys[:limit]

    def cart_item_ids(self, request: HttpRequest) -> tuple[str, ...]:
        """Item ids in the request's cart; override so cart slots and filters know the cart."""
        return ()

    # --- What merchandising insights need (stock, cost, restocking, prices) -----------------------

    def stock_levels(self, item_ids: Iterable[str]) -> dict[str, int | None]:
        """Units in stock by item id, for days-of-stock warnings. ``None``: the store does not
        count this product's stock (no mapped number field, or a null value). Default: the
        mapped stock field when it is a number; a boolean stock says nothing about days left."""
        keys = [item_id for item_id in set(item_ids) if self._is_valid_key(item_id)]
        fields = self.product_fields
        stock = fields.lookups.get("stock")
        if not keys or stock is None or fields.stock_is_bool:
            return {key: None for key in keys}
        rows = (
            self.get_queryset()
            .filter(**{f"{self.key_field}__in": keys})
            .values_list(self.key_field, stock)
        )
        return {str(key): None if level is None else int(level) for key, level in rows}

    def costs(self, item_ids: Iterable[str]) -> dict[str, Decimal]:
        """What each product costs the store, by item id; a price suggestion never goes below
        it. Default: none known (no floor but the suggestion bounds)."""
        return {}

    def restock_lead_days(self, item_ids: Iterable[str]) -> dict[str, int]:
        """Days a restock of each product takes to arrive, by item id; a product about to run out
        within its lead time is flagged. Default: none, so ``RESTOCK_LEAD_DAYS`` applies."""
        return {}

    def set_price(self, item_id: str, price: Decimal) -> None:
        """Apply a price a merchandiser accepted in admin. The app never changes a price on its
        own; a store that keeps prices elsewhere (an ERP) leaves this unimplemented, and admin
        then says the suggestion cannot be applied here."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement set_price(): change the price where the "
            "store keeps it, or implement set_price() in the CATALOG_ADAPTER."
        )

    # --- What admin offers a merchandiser (rule targets are picked, not typed) ---------------------

    def categories(self) -> list[str]:
        """Category names, sorted: the names a rule's category may take (rules match them
        without regard to case). Default: the distinct values of the mapped category."""
        return self._distinct("category")

    def brands(self) -> list[str]:
        """Brand names, sorted, as :meth:`categories` for a rule's brand."""
        return self._distinct("brand")

    def search(self, term: str, limit: int = 20) -> list[ItemInfo]:
        """Products for admin's product picker: :meth:`search_condition` matches, in the
        queryset's order (else by key), at most ``limit``."""
        term = term.strip()
        products = self.get_queryset()
        if term:
            condition = self.search_condition(term)
            if not condition:
                return []
            products = products.filter(condition)
        if not products.ordered:
            products = products.order_by(self.key_field)
        keys = [str(key) for key in products.values_list(self.key_field, flat=True)[:limit]]
        infos = self.describe(keys)
        return [infos[key] for key in keys if key in infos]

    def search_condition(self, term: str) -> Q:
        """Products a picker's ``term`` finds: the key itself, or a title containing it.
        Override to search more (the demo store adds its SKU)."""
        condition = Q(**{self.key_field: term}) if self._is_valid_key(term) else Q()
        if title := self.product_fields.lookups.get("title"):
            condition |= Q(**{f"{title}__icontains": term})
        return condition

    def _distinct(self, attr: str) -> list[str]:
        fields = self.product_fields
        if lookup := fields.lookups.get(attr):
            values: Iterable[Any] = (
                self.get_queryset().order_by().values_list(lookup, flat=True).distinct()
            )
        elif attr in fields.methods:
            values = (getattr(info, attr) for info in self.all_items())
        else:
            return []
        return sorted({_text(value) for value in values} - {""}, key=str.casefold)

    # --- Policy (allauth-style hooks; override in a subclass) ------------------------------------

    def is_bot(self, request: HttpRequest) -> bool:
        """Whether the request is automated, so that its events are counted in the quarantine
        instead of training models. Default: crawler user agents (``crawlerdetect``), headless
        browser markers (:func:`recommendations.policies.automated_reason`). Override to trust your
        own API clients (``crawlerdetect`` calls ``okhttp`` or ``python-requests`` bots).
        Bursts beyond ``BOT_BURST_LIMIT`` are counted by tracking whatever this answers."""
        return automated_reason(request) is not None

    def tracking_allowed(self, request: HttpRequest) -> bool:
        """Whether the request's visitor may be tracked at all. Default: Sec-GPC, DNT when
        ``RESPECT_DNT``, and the consent cookie when ``CONSENT_REQUIRED``."""
        return consent_allows(request)

    def excluded_users(self) -> set[str]:
        """User keys whose behaviour must not train models (``"42"`` for user 42,
        ``"v:<visitor id>"`` for a visitor). Default: visitors flagged for request bursts, and
        the people behind risk assessments staff confirmed (bots, fake accounts, fraudulent
        orders; see :func:`recommendations.policies.confirmed_user_keys`). Asked at every
        training run and trending refresh, so removing a flag brings the user back."""
        return flagged_user_keys()

    def excluded_orders(self) -> set[str]:
        """Order ids (as text, as purchase events carry them in ``context["order"]``) whose
        purchases must not count: refunded or cancelled orders. Default: orders confirmed as
        fraud and the orders of people confirmed as fraud or bots; a store adds its refunds."""
        return excluded_order_ids()

    def order_labels(self, order_ids: Iterable[str]) -> dict[str, str]:
        """The store's names of orders (its order numbers) by order id as text, for the risk
        review queue. Default: none, and orders are shown by id."""
        return {}

    def all_items(self) -> Iterable[ItemInfo]:
        """Every product, for training features. Iterates in chunks."""
        products = self.get_queryset()
        if type(self).to_info is ModelCatalog.to_info:
            products = self._joined(products)
        for obj in products.iterator(chunk_size=2000):
            yield self.to_info(obj)

    def to_info(self, obj: Any) -> ItemInfo:
        """ItemInfo of one instance through ``PRODUCT_FIELDS``; override for what it cannot map."""
        fields = self.product_fields
        return fields.info(str(getattr(obj, self.key_field)), fields.read(obj))

    def _joined(self, products: models.QuerySet) -> models.QuerySet:
        """``products`` with the relations mapped lookups follow, so reading them adds no query."""
        relations = self.product_fields.relations
        return products.select_related(*relations) if relations else products


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
        return cast(bytes | None, version)  # the client does not decode replies
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
        caches.invalidate(caches.Change.CATALOGUE)
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
    # A class is hashable; mypy checks a class object's __hash__ as an unbound method.
    return _catalog(app_settings.CATALOG_ADAPTER)  # type: ignore[arg-type]


caches.register("catalogue adapter", _catalog.cache_clear, caches.Change.CATALOGUE)
