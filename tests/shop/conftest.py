from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """The home page caches bestsellers; no test may see another test's."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Real hashing costs a second per login; these tests are about the shop, not PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
