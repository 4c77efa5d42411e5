"""Settings of a store that followed the README's "Add it to your own store" and nothing more.

Steps 2, 3 and 7 are the only lines about the app; the rest is what ``startproject`` gives a store.
``DATABASE_URL`` / ``REDIS_URL`` choose services mode, as in the demo store.
"""

import os

import dj_database_url

SECRET_KEY = "quickstart-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tests.quickstart.catalogue",
    # Step 2.
    "rest_framework",
    "django_celery_beat",
    "simple_history",
    "recommendations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Step 3.
    "recommendations.middleware.TrackingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.quickstart.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"

# Step 7, as the README shows it.
RECOMMENDATIONS = {
    "REDIS_URL": os.environ.get("REDIS_URL") or None,
    "PRODUCT_MODEL": "catalogue.Product",
    "PRODUCT_FIELDS": {"category": "category__name", "stock": "quantity", "active": "published"},
    "TRACKED_VIEWS": {"catalogue:product-detail": "pk"},
}
