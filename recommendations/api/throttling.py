"""Throttling that a project turns on by naming a rate, instead of having to name one."""

from __future__ import annotations

from rest_framework.throttling import ScopedRateThrottle


class OptionalScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, off for a scope without a rate in ``DEFAULT_THROTTLE_RATES``.

    DRF's own raises ImproperlyConfigured there, which made every beacon batch and API request of
    a store that followed the quick start (no ``REST_FRAMEWORK`` setting at all) fail with a 500.
    """

    def get_rate(self) -> str | None:
        return self.THROTTLE_RATES.get(self.scope)
