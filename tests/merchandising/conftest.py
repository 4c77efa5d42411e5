from __future__ import annotations

import pytest

from recommendations.merchandising.loading import clear_cache


@pytest.fixture(autouse=True)
def _empty_rule_cache():
    """A rolled-back test sends no delete signal, so its rules would outlive it in the cache."""
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """admin_client logs in; real hashing would cost a second per test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
