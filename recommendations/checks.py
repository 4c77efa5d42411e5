"""System checks (``manage.py check``) for a misconfigured installation.

Errors
    recommendations.E001  RECOMMENDATIONS has an unknown key or a value of the wrong type.
    recommendations.E002  TrackingMiddleware is missing or placed before AuthenticationMiddleware.
    recommendations.E003  CATALOG_ADAPTER cannot be imported.
    recommendations.E004  TRACKED_VIEWS is not a mapping of URL name to URL kwarg name.
    recommendations.E005  PRODUCT_FIELDS is not a dict of known ItemInfo attributes to field names.
    recommendations.E006  A PRODUCT_FIELDS lookup names no field of the product model.
    recommendations.E007  PRODUCT_FIELDS maps stock or active to a field of an unsuitable type.
    recommendations.E008  PRODUCT_MODEL does not name an installed model.
    recommendations.E020  A bot quarantine setting (BOT_*) has an invalid value.
Warnings
    recommendations.W001  REDIS_URL is set but Redis does not answer (events fall back to the database).
    recommendations.W002  The default catalogue adapter is used without PRODUCT_MODEL.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

MIDDLEWARE_PATH = "recommendations.middleware.TrackingMiddleware"
AUTH_MIDDLEWARE_PATH = "django.contrib.auth.middleware.AuthenticationMiddleware"

_TYPES: dict[str, type | tuple[type, ...]] = {
    "REDIS_URL": (str, type(None)),
    "REDIS_TIMEOUT": (int, float),
    "TRACKED_VIEWS": dict,
    "BEACON_MAX_EVENTS": int,
    "BEACON_MAX_BYTES": int,
    "INGEST_BATCH_SIZE": int,
    "TRENDING_HALF_LIFE": (int, float),
    "TRENDING_WEIGHTS": dict,
}


@checks.register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .conf import app_settings

    try:
        app_settings.reload()
        values = {name: getattr(app_settings, name) for name in _TYPES}
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc), hint="Fix the RECOMMENDATIONS setting.", id="recommendations.E001"
            )
        ]
    errors = []
    for name, expected in _TYPES.items():
        if not isinstance(values[name], expected):
            errors.append(
                checks.Error(
                    f"RECOMMENDATIONS['{name}'] has the wrong type ({type(values[name]).__name__}).",
                    hint=f"Expected {_type_names(expected)}.",
                    id="recommendations.E001",
                )
            )
    return errors


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


@checks.register()
def check_bot_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A wrong burst setting would quarantine everyone (or no one) without a word."""
    from .conf import app_settings

    try:
        names = ("BOT_DETECTION", "BOT_BURST_LIMIT", "BOT_BURST_WINDOW", "BOT_BURST_COOLDOWN")
        values = {name: getattr(app_settings, name) for name in names}
    except ImproperlyConfigured:
        return []  # reported as E001
    problems = []
    if not isinstance(values["BOT_DETECTION"], bool):
        problems.append("BOT_DETECTION must be True or False")
    limit = values["BOT_BURST_LIMIT"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append("BOT_BURST_LIMIT must be a positive integer or None")
    window = values["BOT_BURST_WINDOW"]
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        problems.append("BOT_BURST_WINDOW must be a whole number of seconds, at least 1")
    cooldown = values["BOT_BURST_COOLDOWN"]
    if isinstance(cooldown, bool) or not isinstance(cooldown, int | float) or cooldown < 0:
        problems.append("BOT_BURST_COOLDOWN must be a number of seconds, 0 or more")
    return [
        checks.Error(
            f"RECOMMENDATIONS['{problem.split()[0]}'] is invalid: {problem}.",
            hint="See the Configuration table in README.md.",
            id="recommendations.E020",
        )
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
        redis_client.get_redis(timeout=1.0).ping()
    except redis.RedisError as exc:
        return [
            checks.Warning(
                f"Redis at RECOMMENDATIONS['REDIS_URL'] does not answer ({exc}).",
                hint="Events fall back to direct database writes until it is back; start Redis or fix the URL.",
                id="recommendations.W001",
            )
        ]
    return []


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)
