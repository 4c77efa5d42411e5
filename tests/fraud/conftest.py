from __future__ import annotations

import pytest
from django.core.cache import cache

from recommendations import registry
from tests.tasks.conftest import processes  # noqa: F401  (real Celery workers, services mode)


@pytest.fixture(autouse=True)
def _fraud_settings(settings, tmp_path):
    """Artifacts (the anomaly model) in a fresh folder; the visitor watermark forgotten."""
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
