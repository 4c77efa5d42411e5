"""The demo store: a small complete shop that uses ``recommendations`` as a customer's store would."""

from .celery import app as celery_app

__all__ = ["celery_app"]
