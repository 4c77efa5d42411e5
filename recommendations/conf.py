"""The app's one settings object.

Everything is configured through a single ``RECOMMENDATIONS`` dict in the project's settings.
Values are read lazily, validated against the defaults below (an unknown key is an error, so a typo
never silently falls back to a default) and re-read when tests change settings.
"""

from __future__ import annotations

from collections.abc import Collection
from os import PathLike
from typing import TYPE_CHECKING, Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Redis used for the event stream and live state. None means embedded mode: events are
    # inserted into the database when the request's transaction commits.
    "REDIS_URL": None,
    # Seconds the request path waits for Redis before falling back to the database.
    "REDIS_TIMEOUT": 0.25,
    # After a Redis failure, the request path skips Redis for this many seconds.
    "REDIS_RETRY_AFTER": 5.0,
    "KEY_PREFIX": "recommendations",
    # Dotted path to the adapter that maps item ids to the host's products.
    "CATALOG_ADAPTER": "recommendations.catalog.ModelCatalog",
    # With the default adapter: the product model ("app_label.Model") and its key field.
    "PRODUCT_MODEL": None,
    "PRODUCT_KEY_FIELD": "pk",
    # With the default adapter: ItemInfo attribute -> the product model's field ("category__name"
    # follows a relation; "url" may name a method such as "get_absolute_url"; None: not mapped).
    # Attributes left out are found by common field names (see recommendations.catalog).
    "PRODUCT_FIELDS": {},
    # URL name -> name of the URL kwarg that holds the item id, for automatic product-view capture.
    "TRACKED_VIEWS": {},
    # Identity.
    "VISITOR_COOKIE_NAME": "recommendations_visitor",
    "VISITOR_COOKIE_AGE": 60 * 60 * 24 * 365,
    "VISITOR_COOKIE_SECURE": False,
    # Consent: Sec-GPC is always honoured; DNT when RESPECT_DNT; with CONSENT_REQUIRED nothing is
    # tracked until the consent cookie holds "granted".
    "RESPECT_DNT": True,
    "CONSENT_REQUIRED": False,
    "CONSENT_COOKIE_NAME": "recommendations_consent",
    # Bot quarantine (docs/architecture.md): events of crawlers, headless browsers and visitors
    # sending more than BOT_BURST_LIMIT tracked requests within BOT_BURST_WINDOW seconds are
    # counted in QuarantineCount instead of being stored. A bursting visitor stays quarantined
    # for BOT_BURST_COOLDOWN seconds and is left out of training. BOT_BURST_LIMIT None: no limit.
    "BOT_DETECTION": True,
    "BOT_BURST_LIMIT": 20,
    "BOT_BURST_WINDOW": 1,
    "BOT_BURST_COOLDOWN": 60,
    # Beacon limits.
    "BEACON_MAX_EVENTS": 100,
    "BEACON_MAX_BYTES": 64 * 1024,
    "BEACON_MAX_CLOCK_SKEW": 300,
    "BEACON_MAX_AGE": 7 * 24 * 3600,
    # Ingest consumer.
    "INGEST_BATCH_SIZE": 200,
    "INGEST_BLOCK_MS": 1000,
    # After the first message of a batch arrives, wait up to this long for more before storing:
    # under load, single events are stored in a few batches instead of one transaction each,
    # which leaves the CPU to the web processes (docs/benchmarks.md).
    "INGEST_LINGER_MS": 250,
    # ...but only while messages (one per page view or beacon request) reach the stream at least
    # this fast, per second (the consumers of the group share the threshold as they share the
    # stream): a slower trickle is stored as soon as it is read (freshness in milliseconds), and
    # the wait is never longer than the rate needs to fill the batch.
    # 0: every partial batch waits INGEST_LINGER_MS, whatever the rate.
    "INGEST_LINGER_MIN_RATE": 100,
    "INGEST_CLAIM_IDLE_MS": 30_000,
    "INGEST_MAX_DELIVERIES": 5,
    # Live state kept by the consumer.
    "RECENT_ITEMS": 20,
    "RECENT_ITEMS_TTL": 30 * 24 * 3600,
    "TRENDING_HALF_LIFE": 6 * 3600,
    "TRENDING_WEIGHTS": {"view": 1.0, "add_to_cart": 3.0, "purchase": 5.0, "click": 1.0},
    # Serving.
    "DEFAULT_LIMIT": 8,
    "MAX_LIMIT": 50,
    # Share of a list one category may take (diversity); 1.0 switches the cap off.
    "MAX_CATEGORY_SHARE": 0.5,
    # Slots that never show what the user has already bought.
    "EXCLUDE_PURCHASED_SLOTS": ["for-you", "similar", "also-viewed", "bought-together", "trending"],
    # Seconds a web process trusts its idea of which model version is active.
    "ACTIVE_MODEL_REFRESH_SECONDS": 10.0,
    # Seconds a rendered non-personal slot is cached for anonymous visitors without a cart.
    "TEMPLATE_CACHE_SECONDS": 30,
    # Seconds computed popularity/trending lists are cached when read from the database.
    "POPULARITY_CACHE_SECONDS": 60,
    # Days of events popularity is computed over (counted back from the newest event).
    "POPULARITY_WINDOW_DAYS": 30,
    # Hours after a click in which a purchase of the clicked item is credited to the slot.
    "ATTRIBUTION_WINDOW_HOURS": 24,
    # The store's currency (ISO 4217 code such as "EUR"), shown with revenue in admin; None
    # shows amounts without one.
    "CURRENCY": None,
    # Length of precomputed lists.
    "PRECOMPUTE_LENGTH": 100,
    # The precompute task sends this many tasks, each writing a disjoint part of the lists, so
    # that several Celery workers (or machines) share one rewrite; 1 writes them in one task.
    "PRECOMPUTE_SHARDS": 1,
    # Events older than this many days are deleted by the cleanup task; None keeps them forever.
    "EVENT_RETENTION_DAYS": None,
    # Training (see docs/training.md). How much each event kind says about interest; kinds not
    # listed count nothing. A rating counts its kind weight times stars / 5.
    "TRAINING_WEIGHTS": {
        "view": 1.0,
        "click": 1.0,
        "add_to_cart": 3.0,
        "purchase": 5.0,
        "rating": 5.0,
    },
    # An event this many days older than the newest one counts half; None: no decay.
    "TRAINING_HALF_LIFE_DAYS": None,
    # Cap on one (user, item) cell after summing its events, so many views never outweigh a
    # purchase without bound; None: no cap.
    "TRAINING_MAX_WEIGHT": 10.0,
    # Below this many users with 3+ items there is no meaningful validation: popularity is kept.
    "TRAINING_MIN_VALIDATION_USERS": 20,
    # Seconds each scenario's model selection may spend before it stops fitting candidates.
    "TRAINING_TIME_BUDGET": 300.0,
    # The sequential model (SASRec) and its blend with EASE join a full run's for-you candidates
    # when at least SEQUENTIAL_MIN_USERS users have three items or more; selection and the gate
    # decide as for any family. A fit takes a minute or two on a CPU for a store of a few thousand
    # users (docs/benchmarks.md); False leaves them out.
    "SEQUENTIAL_MODEL": True,
    "SEQUENTIAL_MIN_USERS": 500,
    # "auto" (CUDA when present, else CPU), "cpu" or "cuda".
    "TRAINING_DEVICE": "auto",
    # Event ids covered per query while training (a primary key range).
    "TRAINING_READ_CHUNK": 50_000,
    # A run still marked running after this many seconds is taken as crashed and its lock freed.
    "TRAINING_LOCK_TIMEOUT": 3 * 3600,
    # A candidate is promoted when its validation NDCG@10 is at least the active version's times
    # (1 - PROMOTION_TOLERANCE), and at least popularity's on the same validation split.
    "PROMOTION_TOLERANCE": 0.02,
    # How many recent configurations (the active version's first, then those of formerly active
    # versions) are refitted on each candidate's validation split and compared with it: the
    # candidate must be within the tolerance of the best of them, so that small drops in a row
    # cannot ratchet quality down.
    "PROMOTION_REFERENCES": 3,
    # Where model artifacts are stored: an alias of settings.STORAGES, or None for a
    # FileSystemStorage in ARTIFACT_DIR (None: BASE_DIR/var/models, else MEDIA_ROOT/models).
    "ARTIFACT_STORAGE": None,
    "ARTIFACT_DIR": None,
    # Versions kept per scenario besides the active one (older ones and their files are
    # deleted after each training run); None keeps every version.
    "KEEP_VERSIONS": 50,
    # Periodic tasks installed into django-celery-beat at migrate time (editable in admin
    # afterwards: existing entries are never overwritten). {"every": seconds} or {"crontab": "m h d M w"}.
    "SCHEDULES": {
        "recommendations.ingest_pending": {"every": 60},
        "recommendations.refresh_trending": {"every": 60},
        "recommendations.train_incremental": {"every": 300},
        "recommendations.train_full": {"crontab": "30 3 * * *"},
        "recommendations.cleanup_events": {"crontab": "0 4 * * *"},
        "recommendations.update_segments": {"every": 30},
        "recommendations.rebuild_segments": {"every": 3600},
        "recommendations.score_visitors": {"every": 60},
        "recommendations.train_anomaly_model": {"crontab": "45 3 * * *"},
        "recommendations.forecast_demand": {"crontab": "15 2 * * *"},
    },
    # Risk scores (0-100) from which an order or visitor is put up for review, and from which
    # an order is held ("block"); below RISK_REVIEW_SCORE it is allowed.
    "RISK_REVIEW_SCORE": 50,
    "RISK_BLOCK_SCORE": 80,
    # Merchandising insights (docs/insights.md). Days of events the nightly forecast reads, the
    # days a product needs from its first behaviour before it is forecast at all, the days
    # forecast, the last days each product's methods are compared on, the season length in
    # days, and the prediction interval's level in percent.
    "INSIGHTS_HISTORY_DAYS": 365,
    "INSIGHTS_MIN_HISTORY_DAYS": 28,
    "INSIGHTS_HORIZON_DAYS": 28,
    "INSIGHTS_BACKTEST_DAYS": 28,
    "INSIGHTS_SEASON_LENGTH": 7,
    "INSIGHTS_INTERVAL_LEVEL": 80,
    # Days a restock takes to arrive (when the adapter's restock_lead_days does not say): stock
    # lasting no longer is "about to run out". Stock lasting more than OVERSTOCK_WEEKS weeks of
    # forecast demand is overstock.
    "RESTOCK_LEAD_DAYS": 14,
    "OVERSTOCK_WEEKS": 12,
    # Stock-aware ranking: overstocked items move up and items about to run out move down in
    # served lists, by at most STOCK_RANKING_MAX_SHIFT positions. Off by default.
    "STOCK_AWARE_RANKING": False,
    "STOCK_RANKING_MAX_SHIFT": 2,
    # Price suggestions: the largest change either way (a fraction of the price), no suggestion
    # within PRICE_COOLDOWN_DAYS of a product's last price change, "rising demand" is a forecast
    # at least PRICE_RISING_DEMAND above the last 28 days' rate, and "low conversion" is at
    # least PRICE_MIN_VIEWS views in 28 days bought below PRICE_LOW_CONVERSION times the
    # category's purchases per view. Elasticity needs ELASTICITY_MIN_DAYS days with sales.
    "PRICE_MAX_CHANGE": 0.10,
    "PRICE_COOLDOWN_DAYS": 14,
    "PRICE_RISING_DEMAND": 0.2,
    "PRICE_MIN_VIEWS": 50,
    "PRICE_LOW_CONVERSION": 0.5,
    "ELASTICITY_MIN_DAYS": 8,
}

_IMPORT_STRINGS = {"CATALOG_ADAPTER"}


class AppSettings:
    """Typed, lazy access to ``settings.RECOMMENDATIONS`` merged over :data:`DEFAULTS`.

    The annotations below are the read types of the keys, for type checkers and readers; they are
    declarations only (no class attributes), so every read still goes through ``__getattr__`` and
    sees the current settings. ``recommendations.checks`` enforces them (with each key's value
    rule) in ``manage.py check``, and a test keeps the three lists (defaults, annotations, rules)
    the same.
    """

    REDIS_URL: str | None
    REDIS_TIMEOUT: float
    REDIS_RETRY_AFTER: float
    KEY_PREFIX: str
    # A dotted path in settings; read as the class it names.
    CATALOG_ADAPTER: type[Any]
    PRODUCT_MODEL: str | None
    PRODUCT_KEY_FIELD: str
    PRODUCT_FIELDS: dict[str, str | None]
    TRACKED_VIEWS: dict[str, str]
    VISITOR_COOKIE_NAME: str
    VISITOR_COOKIE_AGE: int
    VISITOR_COOKIE_SECURE: bool
    RESPECT_DNT: bool
    CONSENT_REQUIRED: bool
    CONSENT_COOKIE_NAME: str
    BOT_DETECTION: bool
    BOT_BURST_LIMIT: int | None
    BOT_BURST_WINDOW: int
    BOT_BURST_COOLDOWN: float
    BEACON_MAX_EVENTS: int
    BEACON_MAX_BYTES: int
    BEACON_MAX_CLOCK_SKEW: float
    BEACON_MAX_AGE: float
    INGEST_BATCH_SIZE: int
    INGEST_BLOCK_MS: int
    INGEST_LINGER_MS: int
    INGEST_LINGER_MIN_RATE: float
    INGEST_CLAIM_IDLE_MS: int
    INGEST_MAX_DELIVERIES: int
    RECENT_ITEMS: int
    RECENT_ITEMS_TTL: int
    TRENDING_HALF_LIFE: float
    TRENDING_WEIGHTS: dict[str, float]
    DEFAULT_LIMIT: int
    MAX_LIMIT: int
    MAX_CATEGORY_SHARE: float
    EXCLUDE_PURCHASED_SLOTS: Collection[str]
    ACTIVE_MODEL_REFRESH_SECONDS: float
    TEMPLATE_CACHE_SECONDS: int
    POPULARITY_CACHE_SECONDS: int
    POPULARITY_WINDOW_DAYS: float
    ATTRIBUTION_WINDOW_HOURS: float
    CURRENCY: str | None
    PRECOMPUTE_LENGTH: int
    PRECOMPUTE_SHARDS: int
    EVENT_RETENTION_DAYS: float | None
    TRAINING_WEIGHTS: dict[str, float]
    TRAINING_HALF_LIFE_DAYS: float | None
    TRAINING_MAX_WEIGHT: float | None
    TRAINING_MIN_VALIDATION_USERS: int
    TRAINING_TIME_BUDGET: float
    SEQUENTIAL_MODEL: bool
    SEQUENTIAL_MIN_USERS: int
    TRAINING_DEVICE: str
    TRAINING_READ_CHUNK: int
    TRAINING_LOCK_TIMEOUT: float
    PROMOTION_TOLERANCE: float
    PROMOTION_REFERENCES: int
    ARTIFACT_STORAGE: str | None
    ARTIFACT_DIR: str | PathLike[str] | None
    KEEP_VERSIONS: int | None
    SCHEDULES: dict[str, dict[str, Any]]
    RISK_REVIEW_SCORE: int
    RISK_BLOCK_SCORE: int
    INSIGHTS_HISTORY_DAYS: int
    INSIGHTS_MIN_HISTORY_DAYS: int
    INSIGHTS_HORIZON_DAYS: int
    INSIGHTS_BACKTEST_DAYS: int
    INSIGHTS_SEASON_LENGTH: int
    INSIGHTS_INTERVAL_LEVEL: float
    RESTOCK_LEAD_DAYS: int
    OVERSTOCK_WEEKS: float
    STOCK_AWARE_RANKING: bool
    STOCK_RANKING_MAX_SHIFT: int
    PRICE_MAX_CHANGE: float
    PRICE_COOLDOWN_DAYS: int
    PRICE_RISING_DEMAND: float
    PRICE_MIN_VIEWS: int
    PRICE_LOW_CONVERSION: float
    ELASTICITY_MIN_DAYS: int

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        user = getattr(django_settings, "RECOMMENDATIONS", {}) or {}
        if not isinstance(user, dict):
            raise ImproperlyConfigured(
                f"RECOMMENDATIONS must be a dict, not {type(user).__name__}."
            )
        unknown = sorted(set(user) - set(DEFAULTS))
        if unknown:
            raise ImproperlyConfigured(
                f"Unknown RECOMMENDATIONS setting(s): {', '.join(unknown)}. "
                f"Known keys: {', '.join(sorted(DEFAULTS))}."
            )
        merged = {**DEFAULTS, **user}
        return merged

    if not TYPE_CHECKING:
        # Hidden from type checkers so that a misspelt key is an error there, not ``Any``.

        def __getattr__(self, name: str) -> Any:
            if name.startswith("_") or name not in DEFAULTS:
                raise AttributeError(name)
            if self._cache is None:
                self._cache = self._load()
            value = self._cache[name]
            if name in _IMPORT_STRINGS and isinstance(value, str):
                value = import_string(value)
            return value

    def key(self, *parts: str) -> str:
        """A Redis key in the app's namespace."""
        return ":".join((self.KEY_PREFIX, *parts))

    @property
    def services_mode(self) -> bool:
        return bool(self.REDIS_URL)

    def reload(self) -> None:
        """Forget the values read, so the next read sees the current settings."""
        self._cache = None


app_settings = AppSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "RECOMMENDATIONS":
        app_settings.reload()


setting_changed.connect(_reload)
