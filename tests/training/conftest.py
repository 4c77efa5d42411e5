from __future__ import annotations

import pytest
from django.core.cache import cache

from recommendations import registry


@pytest.fixture(autouse=True)
def _training_settings(settings, tmp_path):
    """Artifacts in a fresh folder, a short selection budget, caches emptied."""
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "ARTIFACT_DIR": str(tmp_path / "models"),
        "TRAINING_TIME_BUDGET": 60.0,
        "TRAINING_DEVICE": "cpu",
    }
    registry.clear_cache()
    cache.clear()
    yield
    registry.clear_cache()
    cache.clear()
