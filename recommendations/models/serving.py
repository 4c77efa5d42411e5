"""Precomputed recommendation lists, for embedded mode (services mode keeps them in Redis)."""

from __future__ import annotations

from django.db import models


class PrecomputedList(models.Model):
    """One ranked list (``[[item_id, score], ...]``) under a key such as ``user:42`` or ``item:7:similar``."""

    key = models.CharField(max_length=200, unique=True)
    items = models.JSONField(default=list)
    model_version = models.CharField(max_length=64, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "precomputed list"

    def __str__(self) -> str:
        return self.key
