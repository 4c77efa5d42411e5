"""System checks (``manage.py check``) for a misconfigured installation.

Errors
    recommendations.E001  RECOMMENDATIONS has an unknown key (or is not a dict).
    recommendations.E002  TrackingMiddleware is missing or placed before AuthenticationMiddleware.
    recommendations.E003  CATALOG_ADAPTER cannot be imported.
    recommendations.E004  TRACKED_VIEWS is not a mapping of URL name to URL kwarg name.
    recommendations.E005  PRODUCT_FIELDS is not a dict of known ItemInfo attributes to field names.
    recommendations.E006  A PRODUCT_FIELDS lookup names no field of the product model.
    recommendations.E007  PRODUCT_FIELDS maps stock or active to a field of an unsuitable type.
    recommendations.E008  PRODUCT_MODEL does not name an installed model.
    recommendations.E020  No longer raised: BOT_* values are checked by E030/E031 like every key.
    recommendations.E030  A setting (or an entry of a dict or list setting) has the wrong type.
    recommendations.E031  A number is outside its allowed range.
    recommendations.E032  A value, dict key or list item is not one of the allowed choices.
    recommendations.E033  A name (cookie, key prefix, dotted path, ...) is an empty string.
    recommendations.E034  A SCHEDULES entry is neither {"every": seconds} nor {"crontab": "m h d M w"}.
    recommendations.E035  DEFAULT_LIMIT is greater than MAX_LIMIT.
    recommendations.E036  ARTIFACT_STORAGE names no alias of settings.STORAGES.
    recommendations.E037  RISK_REVIEW_SCORE is greater than RISK_BLOCK_SCORE.
    recommendations.E038  INSIGHTS_MIN_HISTORY_DAYS is greater than INSIGHTS_HISTORY_DAYS.
    recommendations.E039  RESTOCK_LEAD_DAYS is not shorter than OVERSTOCK_WEEKS.
Warnings
    recommendations.W001  REDIS_URL is set but Redis does not answer (events fall back to the database).
    recommendations.W002  The default catalogue adapter is used without PRODUCT_MODEL.
    recommendations.W003  The stream's Redis may lose acknowledged events (no AOF, evicting policy).

Every key of :data:`recommendations.conf.DEFAULTS` has a :class:`Rule` in :data:`RULES`; a test
fails when one is added without. Entries of TRACKED_VIEWS and PRODUCT_FIELDS have their own checks
(E004-E007, named by ``Rule.checked_by``) because their rules depend on the product model.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

MIDDLEWARE_PATH = "recommendations.middleware.TrackingMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"

WRONG_TYPE = "recommendations.E030"
OUT_OF_RANGE = "recommendations.E031"
NOT_A_CHOICE = "recommendations.E032"
EMPTY_NAME = "recommendations.E033"
BAD_SCHEDULE = "recommendations.E034"
LIMITS_INVERTED = "recommendations.E035"
UNKNOWN_STORAGE = "recommendations.E036"
RISK_LEVELS_INVERTED = "recommendations.E037"
HISTORY_TOO_SHORT = "recommendations.E038"
STOCK_BOUNDS_INVERTED = "recommendations.E039"

Problem = tuple[str, str, str]  # (check id, message, hint)


def _event_kinds() -> list[str]:
    from .models import EventKind

    return [str(kind.label) for kind in EventKind]


def _slots() -> list[str]:
    from .types import Slot

    return [slot.value for slot in Slot]


@dataclass(frozen=True)
class Rule:
    """What one value may be: its types, and for numbers a range, for text its choices.

    ``bool`` never passes as a number (``True`` is an ``int`` to Python, never a count here).
    ``keys``/``values`` apply to the entries of a dict, ``items`` to those of a list; ``check``
    is a last resort for shapes the fields cannot say (schedules), returning problems.
    ``choices`` may be a callable so that vocabularies above this module are read only when
    checks run. ``checked_by`` names the dedicated check that reports the whole value (type
    included), so that one mistake gives one message.
    """

    types: tuple[type, ...]
    nullable: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: Collection[str] | Callable[[], Collection[str]] | None = None
    nonempty: bool = False
    keys: Rule | None = None
    values: Rule | None = None
    items: Rule | None = None
    check: Callable[[str, Any], list[Problem]] | None = field(default=None, compare=False)
    checked_by: str | None = None

    def problems(self, path: str, value: Any) -> Iterator[Problem]:
        if value is None:
            if not self.nullable:
                yield WRONG_TYPE, f"{path} must not be None.", f"Expected {self.type_names()}."
            return
        if not self._has_type(value):
            yield (
                WRONG_TYPE,
                f"{path} has the wrong type ({type(value).__name__}).",
                f"Expected {self.type_names()}.",
            )
            return
        if isinstance(value, int | float):
            yield from self._range_problems(path, value)
        if isinstance(value, str):
            if self.nonempty and not value.strip():
                yield EMPTY_NAME, f"{path} must not be empty.", "Give a non-empty name."
            if self.choices is not None:
                yield from _choice_problems(path, value, self.choices)
        if isinstance(value, dict):
            for key, entry in value.items():
                if self.keys is not None:
                    yield from self.keys.problems(f"{path} key", key)
                if self.values is not None:
                    yield from self.values.problems(f"{path}[{key!r}]", entry)
        elif self.items is not None and isinstance(value, Iterable) and not isinstance(value, str):
            for index, entry in enumerate(value):
                yield from self.items.problems(f"{path}[{index}]", entry)
        if self.check is not None:
            yield from self.check(path, value)

    def type_names(self) -> str:
        names = [_TYPE_NAMES.get(t, t.__name__) for t in self.types]
        if self.nullable:
            names.append("None")
        return " or ".join(names)

    def _has_type(self, value: Any) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def _range_problems(self, path: str, value: float) -> Iterator[Problem]:
        if isinstance(value, float) and not math.isfinite(value):
            yield OUT_OF_RANGE, f"{path} must be a finite number, not {value}.", self._range()
            return
        bad = (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )
        if bad:
            yield OUT_OF_RANGE, f"{path} = {value!r} is out of range.", self._range()

    def _range(self) -> str:
        bounds = [
            f"{op} {bound:g}"
            for op, bound in (("≥", self.ge), (">", self.gt), ("≤", self.le), ("<", self.lt))
            if bound is not None
        ]
        return f"Expected a number {' and '.join(bounds)}."


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "True or False"}
_TYPE_NAMES.update({dict: "a dict", list: "a list", tuple: "a tuple", type: "a class"})
_TYPE_NAMES.update({set: "a set", frozenset: "a frozenset", PathLike: "a path"})


def _choice_problems(
    path: str, value: str, choices: Collection[str] | Callable[[], Collection[str]]
) -> Iterator[Problem]:
    allowed = list(choices() if callable(choices) else choices)
    if value not in allowed:
        close = difflib.get_close_matches(value, allowed, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        yield (
            NOT_A_CHOICE,
            f"{path} = {value!r} is not one of the choices.",
            (f"{hint}One of: {', '.join(allowed)}."),
        )


def _currency_problems(path: str, code: str) -> list[Problem]:
    """Three capital letters, as ISO 4217 writes currency codes."""
    if re.fullmatch(r"[A-Z]{3}", code):
        return []
    return [
        (
            NOT_A_CHOICE,
            f"{path} = {code!r} is not a currency code.",
            'Use the ISO 4217 code, such as "EUR", "GBP" or "USD".',
        )
    ]


def _device_problems(path: str, device: str) -> list[Problem]:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:<index>`` (a machine with several GPUs)."""
    if device in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", device):
        return []
    close = difflib.get_close_matches(device, ["auto", "cpu", "cuda"], n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return [
        (
            NOT_A_CHOICE,
            f"{path} = {device!r} is not one of the choices.",
            f"{hint}One of: auto, cpu, cuda, cuda:<index>.",
        )
    ]


def _schedule_problems(path: str, schedules: dict[str, Any]) -> list[Problem]:
    """Mirrors what ``schedules.install_schedules`` reads, so a typo fails here, not at migrate."""
    hint = 'Give {"every": seconds} or {"crontab": "minute hour day month weekday"}.'
    return [
        (BAD_SCHEDULE, f"{path}[{task!r}] = {spec!r} is not a schedule.", hint)
        for task, spec in schedules.items()
        if not _is_schedule(spec)
    ]


def _is_schedule(spec: Any) -> bool:
    if not isinstance(spec, dict) or len(spec) != 1:
        return False
    if "every" in spec:
        every = spec["every"]
        return isinstance(every, int | float) and not isinstance(every, bool) and every >= 1
    crontab = spec.get("crontab")
    return isinstance(crontab, str) and len(crontab.split()) == 5


NUMBER = (int, float)
INT = (int,)
TEXT = (str,)
FLAG = Rule((bool,))
NAME = Rule(TEXT, nonempty=True)
SECONDS = Rule(NUMBER, ge=0)
POSITIVE = Rule(NUMBER, gt=0)
COUNT = Rule(INT, ge=1)
WEIGHTS = Rule((dict,), keys=Rule(TEXT, choices=_event_kinds), values=Rule(NUMBER, ge=0))

RULES: dict[str, Rule] = {
    "REDIS_URL": Rule(TEXT, nullable=True, nonempty=True),
    "REDIS_TIMEOUT": POSITIVE,
    "REDIS_RETRY_AFTER": SECONDS,
    "KEY_PREFIX": NAME,
    "CATALOG_ADAPTER": Rule((str, type), nonempty=True),  # importable: E003
    "PRODUCT_MODEL": Rule(TEXT, nullable=True, nonempty=True),  # installed: E008
    "PRODUCT_KEY_FIELD": NAME,
    "PRODUCT_FIELDS": Rule((dict,), checked_by="recommendations.E005"),  # entries: E005-E007
    "TRACKED_VIEWS": Rule((dict,), checked_by="recommendations.E004"),
    "VISITOR_COOKIE_NAME": NAME,
    "VISITOR_COOKIE_AGE": COUNT,
    "VISITOR_COOKIE_SECURE": FLAG,
    "RESPECT_DNT": FLAG,
    "CONSENT_REQUIRED": FLAG,
    "CONSENT_COOKIE_NAME": NAME,
    "BOT_DETECTION": FLAG,
    "BOT_BURST_LIMIT": Rule(INT, nullable=True, ge=1),
    "BOT_BURST_WINDOW": COUNT,
    "BOT_BURST_COOLDOWN": SECONDS,
    "BEACON_MAX_EVENTS": COUNT,
    "BEACON_MAX_BYTES": COUNT,
    "BEACON_MAX_CLOCK_SKEW": SECONDS,
    "BEACON_MAX_AGE": POSITIVE,
    "INGEST_BATCH_SIZE": COUNT,
    # 0 would make XREADGROUP block forever.
    "INGEST_BLOCK_MS": COUNT,
    "INGEST_LINGER_MS": Rule(INT, ge=0),
    "INGEST_LINGER_MIN_RATE": Rule(NUMBER, ge=0),
    "INGEST_CLAIM_IDLE_MS": COUNT,
    "INGEST_MAX_DELIVERIES": COUNT,
    "RECENT_ITEMS": COUNT,
    "RECENT_ITEMS_TTL": COUNT,
    "TRENDING_HALF_LIFE": POSITIVE,
    "TRENDING_WEIGHTS": WEIGHTS,
    "DEFAULT_LIMIT": COUNT,
    "MAX_LIMIT": COUNT,
    "MAX_CATEGORY_SHARE": Rule(NUMBER, gt=0, le=1),
    # A string would be searched for substrings ("for" in "for-you"): only collections.
    "EXCLUDE_PURCHASED_SLOTS": Rule(
        (list, tuple, set, frozenset), items=Rule(TEXT, choices=_slots)
    ),
    "ACTIVE_MODEL_REFRESH_SECONDS": SECONDS,
    "TEMPLATE_CACHE_SECONDS": Rule(INT, ge=0),
    "POPULARITY_CACHE_SECONDS": Rule(INT, ge=0),
    "POPULARITY_WINDOW_DAYS": POSITIVE,
    "ATTRIBUTION_WINDOW_HOURS": POSITIVE,
    "CURRENCY": Rule(TEXT, nullable=True, check=_currency_problems),
    "PRECOMPUTE_LENGTH": COUNT,
    "PRECOMPUTE_SHARDS": COUNT,
    "EVENT_RETENTION_DAYS": Rule(NUMBER, nullable=True, gt=0),
    "TRAINING_WEIGHTS": WEIGHTS,
    "TRAINING_HALF_LIFE_DAYS": Rule(NUMBER, nullable=True, gt=0),
    "TRAINING_MAX_WEIGHT": Rule(NUMBER, nullable=True, gt=0),
    "TRAINING_MIN_VALIDATION_USERS": COUNT,
    "TRAINING_TIME_BUDGET": POSITIVE,
    "SEQUENTIAL_MODEL": FLAG,
    "SEQUENTIAL_MIN_USERS": Rule(INT, ge=0),
    "TRAINING_DEVICE": Rule(TEXT, check=_device_problems),
    "TRAINING_READ_CHUNK": COUNT,
    "TRAINING_LOCK_TIMEOUT": POSITIVE,
    # 1 or more would promote a candidate that is worse than popularity.
    "PROMOTION_TOLERANCE": Rule(NUMBER, ge=0, lt=1),
    "PROMOTION_REFERENCES": Rule(INT, ge=0),
    "ARTIFACT_STORAGE": Rule(TEXT, nullable=True, nonempty=True),  # an alias: E036
    "ARTIFACT_DIR": Rule((str, PathLike), nullable=True),
    "KEEP_VERSIONS": Rule(INT, nullable=True, ge=0),
    "SCHEDULES": Rule((dict,), keys=NAME, check=_schedule_problems),
    "RISK_REVIEW_SCORE": Rule(INT, ge=1, le=100),
    "RISK_BLOCK_SCORE": Rule(INT, ge=1, le=100),
    "INSIGHTS_HISTORY_DAYS": COUNT,
    "INSIGHTS_MIN_HISTORY_DAYS": COUNT,
    "INSIGHTS_HORIZON_DAYS": Rule(INT, ge=1, le=366),
    "INSIGHTS_BACKTEST_DAYS": COUNT,
    "INSIGHTS_SEASON_LENGTH": COUNT,
    "INSIGHTS_INTERVAL_LEVEL": Rule(NUMBER, gt=0, lt=100),
    "RESTOCK_LEAD_DAYS": Rule(INT, ge=0),
    "OVERSTOCK_WEEKS": POSITIVE,
    "STOCK_AWARE_RANKING": FLAG,
    "STOCK_RANKING_MAX_SHIFT": Rule(INT, ge=0),
    # 1 or more would let a suggestion halve a price twice over, or take it to nothing.
    "PRICE_MAX_CHANGE": Rule(NUMBER, gt=0, lt=1),
    "PRICE_COOLDOWN_DAYS": Rule(INT, ge=0),
    "PRICE_RISING_DEMAND": Rule(NUMBER, ge=0),
    "PRICE_MIN_VIEWS": COUNT,
    "PRICE_LOW_CONVERSION": Rule(NUMBER, gt=0, le=1),
    "ELASTICITY_MIN_DAYS": Rule(INT, ge=3),
}


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Each key against its rule, so a wrong value fails at deploy time rather than on the first
    request, training run or beacon batch that reads it."""
    from .conf import DEFAULTS

    user = getattr(settings, "RECOMMENDATIONS", {}) or {}
    if not isinstance(user, dict):
        return [
            checks.Error(
                f"RECOMMENDATIONS must be a dict, not {type(user).__name__}.",
                hint="Fix the RECOMMENDATIONS setting.",
                id="recommendations.E001",
            )
        ]
    errors: list[checks.CheckMessage] = []
    for name in sorted(set(user) - set(DEFAULTS)):
        close = difflib.get_close_matches(name, list(DEFAULTS), n=1)
        errors.append(
            checks.Error(
                f"Unknown RECOMMENDATIONS setting {name!r}.",
                hint=f"Did you mean {close[0]!r}?"
                if close
                else "See the keys in recommendations/conf.py.",
                id="recommendations.E001",
            )
        )
    values = {**DEFAULTS, **{k: v for k, v in user.items() if k in DEFAULTS}}
    problems = [
        problem
        for name, rule in RULES.items()
        if rule.checked_by is None
        for problem in rule.problems(f"RECOMMENDATIONS['{name}']", values[name])
    ]
    problems.extend(_cross_key_problems(values))
    errors.extend(checks.Error(message, hint=hint, id=id_) for id_, message, hint in problems)
    return errors


def _cross_key_problems(values: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    default, most = values["DEFAULT_LIMIT"], values["MAX_LIMIT"]
    if (
        all(isinstance(v, int) and not isinstance(v, bool) for v in (default, most))
        and default > most
    ):
        problems.append(
            (
                LIMITS_INVERTED,
                f"RECOMMENDATIONS['DEFAULT_LIMIT'] ({default}) is greater than MAX_LIMIT ({most}).",
                "Requests without a limit would get more items than any request may ask for.",
            )
        )
    review, block = values["RISK_REVIEW_SCORE"], values["RISK_BLOCK_SCORE"]
    if (
        all(isinstance(v, int) and not isinstance(v, bool) for v in (review, block))
        and review > block
    ):
        problems.append(
            (
                RISK_LEVELS_INVERTED,
                f"RECOMMENDATIONS['RISK_REVIEW_SCORE'] ({review}) is greater than "
                f"RISK_BLOCK_SCORE ({block}).",
                "Orders would be held without ever being put up for review first.",
            )
        )
    problems.extend(_insights_problems(values))
    alias = values["ARTIFACT_STORAGE"]
    storages = getattr(settings, "STORAGES", {})
    if isinstance(alias, str) and alias and alias not in storages:
        problems.append(
            (
                UNKNOWN_STORAGE,
                f"RECOMMENDATIONS['ARTIFACT_STORAGE'] = {alias!r} is not an alias of settings.STORAGES.",
                f"One of: {', '.join(storages)}; or None for files in ARTIFACT_DIR.",
            )
        )
    return problems


def _insights_problems(values: dict[str, Any]) -> list[Problem]:
    """Pairs of insights settings that contradict each other."""

    def counts(*values: Any) -> bool:
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)

    problems: list[Problem] = []
    history, least = values["INSIGHTS_HISTORY_DAYS"], values["INSIGHTS_MIN_HISTORY_DAYS"]
    if counts(history, least) and least > history:
        problems.append(
            (
                HISTORY_TOO_SHORT,
                f"RECOMMENDATIONS['INSIGHTS_MIN_HISTORY_DAYS'] ({least}) is greater than "
                f"INSIGHTS_HISTORY_DAYS ({history}).",
                "No product could ever have enough history read to be forecast.",
            )
        )
    lead, weeks = values["RESTOCK_LEAD_DAYS"], values["OVERSTOCK_WEEKS"]
    if counts(lead, weeks) and lead >= weeks * 7:
        problems.append(
            (
                STOCK_BOUNDS_INVERTED,
                f"RECOMMENDATIONS['RESTOCK_LEAD_DAYS'] ({lead}) is not shorter than "
                f"OVERSTOCK_WEEKS ({weeks}) weeks.",
                "A product would be about to run out and overstocked at once.",
            )
        )
    return problems


@checks.register()
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE_PATH not in middleware:
        return [
            checks.Error(
                f"{MIDDLEWARE_PATH} is not in MIDDLEWARE: product views are not tracked and the "
                "visitor cookie is never set.",
                hint=f"Add it to MIDDLEWARE after {AUTH_MIDDLEWARE_PATH}.",
                id="recommendations.E002",
            )
        ]
    if AUTH_MIDDLEWARE_PATH in middleware and middleware.index(MIDDLEWARE_PATH) < middleware.index(
        AUTH_MIDDLEWARE_PATH
    ):
        return [
            checks.Error(
                f"{MIDDLEWARE_PATH} runs before {AUTH_MIDDLEWARE_PATH}: events lose their user.",
                hint="Move it after AuthenticationMiddleware.",
                id="recommendations.E002",
            )
        ]
    return []


@checks.register()
def check_catalog(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .conf import app_settings

    try:
        adapter = app_settings.CATALOG_ADAPTER
    except (ImportError, ImproperlyConfigured) as exc:
        return [
            checks.Error(
                f"RECOMMENDATIONS['CATALOG_ADAPTER'] cannot be imported: {exc}",
                hint="Give the dotted path of a recommendations.catalog.ModelCatalog subclass.",
                id="recommendations.E003",
            )
        ]
    from .catalog import ModelCatalog

    if adapter is ModelCatalog and not app_settings.PRODUCT_MODEL:
        return [
            checks.Warning(
                "The default catalogue adapter is used but RECOMMENDATIONS['PRODUCT_MODEL'] is not set.",
                hint="Set PRODUCT_MODEL to 'app_label.Model', or CATALOG_ADAPTER to your own adapter.",
                id="recommendations.W002",
            )
        ]
    return []


@checks.register()
def check_tracked_views(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .conf import app_settings

    tracked = app_settings.TRACKED_VIEWS
    if isinstance(tracked, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in tracked.items()
    ):
        return []
    return [
        checks.Error(
            "RECOMMENDATIONS['TRACKED_VIEWS'] must map URL names to URL kwarg names.",
            hint='For example {"shop:product_detail": "pk"}.',
            id="recommendations.E004",
        )
    ]


_PRODUCT_FIELDS_IDS = {
    "shape": "recommendations.E005",
    "lookup": "recommendations.E006",
    "type": "recommendations.E007",
}


@checks.register()
def check_product_fields(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A wrong mapping would otherwise surface only on the first recommendation request, or worse,
    as sold-out products recommended because the stock field was never read."""
    from .catalog import (
        ModelCatalog,
        get_catalog,
        product_fields_shape_errors,
        resolve_product_fields,
    )
    from .conf import app_settings

    try:
        mapping = app_settings.PRODUCT_FIELDS
        adapter = app_settings.CATALOG_ADAPTER
    except (ImportError, ImproperlyConfigured):
        return []  # reported by E001 / E003
    label = app_settings.PRODUCT_MODEL
    if label:
        try:
            apps.get_model(label)
        except (LookupError, ValueError) as exc:
            return [
                checks.Error(
                    f"RECOMMENDATIONS['PRODUCT_MODEL'] = {label!r} is not an installed model ({exc}).",
                    hint="Give it as 'app_label.ModelName', of an app in INSTALLED_APPS.",
                    id="recommendations.E008",
                )
            ]
    model = None
    if isinstance(adapter, type) and issubclass(adapter, ModelCatalog):
        try:
            model = get_catalog().model
        except ImproperlyConfigured:
            model = None  # no PRODUCT_MODEL: W002
    if model is None:
        problems = product_fields_shape_errors(mapping)
    else:
        problems = resolve_product_fields(model, mapping)[1]
    return [
        checks.Error(str(problem), hint=problem.hint, id=_PRODUCT_FIELDS_IDS[problem.kind])
        for problem in problems
    ]


@checks.register(deploy=False)
def check_redis(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .conf import app_settings

    if not app_settings.REDIS_URL:
        return []
    import redis

    from . import redis_client

    try:
        client = redis_client.get_redis(timeout=1.0)
        client.ping()
        unsafe = redis_client.durability_problems(client)
    except redis.RedisError as exc:
        return [
            checks.Warning(
                f"Redis at RECOMMENDATIONS['REDIS_URL'] does not answer ({exc}).",
                hint="Events fall back to direct database writes until it is back; start Redis or fix the URL.",
                id="recommendations.W001",
            )
        ]
    return [
        checks.Warning(
            f"The event stream's Redis may lose accepted events: {problem}.",
            hint="Run it with --appendonly yes and --maxmemory-policy noeviction, as "
            "docker-compose.yml does.",
            id="recommendations.W003",
        )
        for problem in unsafe
    ]
