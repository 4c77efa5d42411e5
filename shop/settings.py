"""Settings of the demo store.

Two modes, chosen by the environment:

* embedded (no environment): SQLite file, Celery tasks run eagerly in-process, tracked events are
  inserted into the database when the request's transaction commits. ``make demo`` adds
  ``CELERY_BROKER_URL=filesystem://``: tasks then go to a real worker and beat (started with the web
  process) through kombu's filesystem transport in ``var/celery/``, a broker that needs no service;
* services (``DATABASE_URL`` and ``REDIS_URL`` set): PostgreSQL through psycopg 3, Redis for the event
  stream and cache, a real Celery worker and beat with django-celery-beat's DatabaseScheduler.
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-key-change-me-in-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

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
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
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

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Beacon batches per client IP; an empty BEACON_THROTTLE_RATE switches throttling off.
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
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

RECOMMENDATIONS = {
    "REDIS_URL": REDIS_URL or None,
    "CATALOG_ADAPTER": "shop.catalog.ShopCatalog",
    "TRACKED_VIEWS": {"shop:product_detail": "pk"},
    # Tracked requests one visitor may make per second before counting as a bot; an empty
    # value switches the limit off (load tests that replay one visitor's cookie).
    "BOT_BURST_LIMIT": int(os.environ.get("BOT_BURST_LIMIT", "20") or 0) or None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "recommendations": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}
