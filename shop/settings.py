"""Settings of the demo store.

Two modes, chosen by the environment:

* embedded (no environment): SQLite file, Celery tasks run eagerly in-process, tracked events are
  inserted into the database when the request's transaction commits. ``make demo`` adds
  ``CELERY_BROKER_URL=filesystem://``: tasks then go to a real worker and beat (started with the web
  process) through kombu's filesystem transport in ``var/celery/``, a broker that needs no service;
* services (``DATABASE_URL`` and ``REDIS_URL`` set): PostgreSQL through psycopg 3, Redis for the event
  stream and cache, a real Celery worker and beat with django-celery-beat's DatabaseScheduler.

``DEBUG`` is off unless ``DJANGO_DEBUG=1`` (``make demo`` sets it): a debug 500 page shows every
setting, ``DATABASE_URL`` and the broker URL included. The production settings are environment
variables, listed in docs/deployment.md; with them ``manage.py check --deploy --fail-level
WARNING`` passes.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_flag(name: str, default: bool = False) -> bool:
    """A yes/no environment variable: ``1``/``true``/``yes``/``on`` (any case) is yes."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key-change-me-in-production")
DEBUG = _env_flag("DJANGO_DEBUG")
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS in production (docs/deployment.md): secure cookies, redirect to https and HSTS, all on
# with DJANGO_HTTPS=1; each HSTS part can be turned back off on its own.
HTTPS = _env_flag("DJANGO_HTTPS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "") or (31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = _env_flag("DJANGO_HSTS_PRELOAD", HTTPS)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if _env_flag("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many trusted proxies append to X-Forwarded-For; 0 ignores the header (a client can write
# anything there). Used by the API throttles (DRF's NUM_PROXIES) and the admin login lockout.
NUM_PROXIES = int(os.environ.get("DJANGO_NUM_PROXIES", "0") or 0)

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
SERVICES_MODE = bool(DATABASE_URL and REDIS_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "simple_history",
    "axes",
    "recommendations",
    "shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "recommendations.middleware.TrackingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
        },
    },
]

if DATABASE_URL:
    # Persistent connections are checked before reuse, so the first request after a database
    # restart reconnects instead of failing on a dead connection.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web process, worker and beat share the file: WAL lets pages read while a
    # training writes, and writers wait for each other instead of failing with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "shop",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25},
        }
    }
    # A cache outage (throttle counters, cached fragments) must not fail a page.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database so that a Redis outage never logs anyone out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# django-axes in front of the model backend: after AXES_FAILURE_LIMIT wrong passwords for one
# username, or from one network, logins as that user (admin and storefront) or from there are
# refused for AXES_COOLOFF_TIME, even with the right password: rotating addresses does not help a
# guesser of one password, nor rotating usernames. The address comes from REMOTE_ADDR (or
# X-Forwarded-For as far as NUM_PROXIES trusts it) cut to its /24 or /48: no raw IP is stored.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "60") or 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_IP_CALLABLE = "recommendations.api.throttling.anonymised_client_address"

LOGIN_URL = "shop:login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "shop" / "static"]
# WhiteNoise serves static files with DEBUG off too, straight from the apps' folders, so the demo
# needs no collectstatic; files collected into STATIC_ROOT are served as well.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "NUM_PROXIES": NUM_PROXIES,
    # Per client (signed-in user, else address): beacon batches and recommendation requests; an
    # empty BEACON_THROTTLE_RATE or RECOMMENDATIONS_THROTTLE_RATE switches that throttle off.
    "DEFAULT_THROTTLE_RATES": {
        "recommendations_events": os.environ.get("BEACON_THROTTLE_RATE", "1200/min") or None,
        "recommendations": os.environ.get("RECOMMENDATIONS_THROTTLE_RATE", "1200/min") or None,
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Recommendations API",
    "DESCRIPTION": "Recommendations for the current visitor, and the event beacon.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery: a real worker and beat in services mode (Redis) and in the demo (CELERY_BROKER_URL set,
# e.g. filesystem://); otherwise eager, with no broker (memory://) and nothing to consume it.
CELERY_BROKER_URL = REDIS_URL or os.environ.get("CELERY_BROKER_URL", "") or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not SERVICES_MODE and CELERY_BROKER_URL.startswith("memory://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Producers and consumers share one queue folder; processed messages are not kept.
    CELERY_FILESYSTEM_FOLDER = Path(
        os.environ.get("CELERY_FILESYSTEM_FOLDER", "") or BASE_DIR / "var" / "celery"
    )
    (CELERY_FILESYSTEM_FOLDER / "queue").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_FOLDER / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_FOLDER / "queue"),
        "control_folder": str(CELERY_FILESYSTEM_FOLDER / "control"),
        "store_processed": False,
    }
CELERY_TASK_EAGER_PROPAGATES = True
# One task at a time per worker process, so a worker that dies takes no queued tasks with it;
# the app's tasks acknowledge late and are redelivered when their worker is lost.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers a task whose worker died (unacknowledged) after this many seconds; it must
# stay above every task's time limit (at most 50 minutes), or a long task is delivered a second
# time while it still runs. Lowered only by tests that kill a worker and wait for redelivery.
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "") or 3600)
if CELERY_BROKER_URL.startswith("redis"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Workers look for such tasks every 10 s (kombu's default: every 100 s), so one comes
        # back within seconds of its timeout, not minutes.
        "unacked_restore_interval": min(10, max(1, CELERY_VISIBILITY_TIMEOUT // 4)),
        "unacked_restore_throttle": 1,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

RECOMMENDATIONS = {
    "REDIS_URL": REDIS_URL or None,
    "CATALOG_ADAPTER": "shop.catalog.ShopCatalog",
    "TRACKED_VIEWS": {"shop:product_detail": "pk"},
    # Tracked requests one visitor may make per second before counting as a bot; an empty
    # value switches the limit off (load tests that replay one visitor's cookie).
    "BOT_BURST_LIMIT": int(os.environ.get("BOT_BURST_LIMIT", "20") or 0) or None,
    "VISITOR_COOKIE_SECURE": HTTPS,
    "CURRENCY": "GBP",
    # The sequential model joins full runs of a store with enough sequences; off on a machine
    # where a minute or two of training per run is too much.
    "SEQUENTIAL_MODEL": _env_flag("RECOMMENDATIONS_SEQUENTIAL_MODEL", default=True),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "recommendations": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}

# Comma-separated check IDs to silence, e.g. recommendations.W003 for a test Redis without AOF.
SILENCED_SYSTEM_CHECKS = _env_list("SILENCED_SYSTEM_CHECKS")
