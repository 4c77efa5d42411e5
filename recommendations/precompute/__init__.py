"""Writing ranked lists to the store ahead of requests, so serving only reads.

``popularity`` (trending and popular, per category too), ``model_lists`` (the active versions'
per-user and per-item lists), ``also_viewed`` (view co-occurrence) and ``content`` (neighbours of
new products by their text). Numpy and scipy only: a web process may run them.
"""

from .also_viewed import refresh_also_viewed
from .content import refresh_content_neighbours
from .model_lists import refresh_model_lists
from .popularity import refresh_popularity

__all__ = [
    "refresh_also_viewed",
    "refresh_content_neighbours",
    "refresh_model_lists",
    "refresh_popularity",
]
