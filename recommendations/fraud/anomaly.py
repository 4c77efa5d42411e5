"""An isolation forest over visitors' browsing features: behaviour unlike the store's visitors.

Fitted nightly by a Celery worker (``recommendations.train_anomaly_model``) on the visitors of the
last days, leaving out those the adapter excludes (confirmed bots, burst visitors), and written
through the artifact storage like the models. scikit-learn is imported inside these functions
only, never by the web process.

The file is a pickle (scikit-learn's own format), so it is signed: a header, an HMAC-SHA256 of
the payload under ``SECRET_KEY``, then the payload. A missing, truncated, altered or unreadable
file is never unpickled and never fails scoring: :func:`load_model` logs it and returns None, and
the anomaly rule is skipped.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db.models import Max
from django.utils import timezone

from recommendations.catalog import get_catalog
from recommendations.models import Event
from recommendations.models.registry import artifact_storage

from .features import FEATURE_NAMES, VisitorActivity, visitor_activity, visitor_key

logger = logging.getLogger("recommendations.fraud")

MODEL_NAME = "fraud/anomaly-model.bin"
MAGIC = b"RECANOM1"
#: Visitors with fewer product views than this are neither trained on nor judged: a visitor
#: who looked at two pages is not a pattern.
MIN_VIEWS = 5
#: Too few visitors to say what ordinary looks like: no model is written.
MIN_VISITORS = 30


@dataclass
class AnomalyModel:
    """A fitted forest and the features it was fitted on."""

    forest: Any
    features: tuple[str, ...]
    visitors: int
    trained_at: str

    def scores(self, activities: list[VisitorActivity]) -> list[float]:
        """Anomaly scores in (0, 1]: about 0.5 for ordinary behaviour, towards 1 for outliers
        (the negated ``score_samples`` of the original paper's definition)."""
        import numpy as np

        if not activities:
            return []
        rows = np.asarray([activity.vector() for activity in activities], dtype=np.float64)
        return [float(-value) for value in self.forest.score_samples(rows)]


def judged(activity: VisitorActivity) -> bool:
    return activity.views >= MIN_VIEWS


def train_model(
    days: float = 7.0, max_visitors: int = 20_000, window_minutes: int = 60, seed: int = 0
) -> dict[str, Any]:
    """Fit the forest on the last ``days`` of visitors and write it; returns what was done."""
    from sklearn.ensemble import IsolationForest

    newest = Event.objects.aggregate(newest=Max("ts"))["newest"]
    if newest is None:
        return {"status": "skipped", "visitors": 0, "message": "no events yet"}
    since = newest - timedelta(days=days)
    excluded = get_catalog().excluded_users()
    keys: list[str] = []
    seen: set[str] = set()
    recent = Event.objects.filter(ts__gte=since).order_by("-pk")
    for user_id, visitor_id in recent.values_list("user_id", "visitor_id").iterator(5000):
        key = visitor_key(user_id, visitor_id)
        if key not in seen:
            seen.add(key)
            if key not in excluded:
                keys.append(key)
            if len(keys) >= max_visitors:
                break
    activities = [
        activity
        for activity in visitor_activity(
            keys, timedelta(minutes=window_minutes), until=newest, since=since
        ).values()
        if judged(activity)
    ]
    if len(activities) < MIN_VISITORS:
        return {
            "status": "skipped",
            "visitors": len(activities),
            "message": f"{len(activities)} visitors with {MIN_VIEWS}+ views: too few to model "
            f"(needs {MIN_VISITORS})",
        }
    import numpy as np

    rows = np.asarray([activity.vector() for activity in activities], dtype=np.float64)
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(rows)
    model = AnomalyModel(forest, FEATURE_NAMES, len(activities), timezone.now().isoformat())
    save_model(model)
    return {"status": "finished", "visitors": len(activities), "message": "anomaly model saved"}


def save_model(model: AnomalyModel) -> None:
    import joblib  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    joblib.dump(
        {
            "forest": model.forest,
            "features": list(model.features),
            "visitors": model.visitors,
            "trained_at": model.trained_at,
        },
        buffer,
    )
    payload = buffer.getvalue()
    storage = artifact_storage()
    if storage.exists(MODEL_NAME):
        storage.delete(MODEL_NAME)
    storage.save(MODEL_NAME, ContentFile(MAGIC + _signature(payload) + payload))


def load_model() -> AnomalyModel | None:
    """The saved model, or None (logged) when there is none or it cannot be trusted or read."""
    storage = artifact_storage()
    try:
        if not storage.exists(MODEL_NAME):
            logger.info("No anomaly model yet: the anomaly rule is skipped")
            return None
        with storage.open(MODEL_NAME, "rb") as handle:
            blob = handle.read()
    except Exception as exc:  # any storage backend's failure
        logger.warning("Anomaly model unreadable (%s): the anomaly rule is skipped", exc)
        return None
    head, signature, payload = blob[: len(MAGIC)], blob[len(MAGIC) : len(MAGIC) + 32], blob[40:]
    if head != MAGIC or not hmac.compare_digest(signature, _signature(payload)):
        logger.warning(
            "Anomaly model %s is truncated or was not written by this site: the anomaly rule is "
            "skipped until it is trained again",
            MODEL_NAME,
        )
        return None
    try:
        import joblib

        saved = joblib.load(io.BytesIO(payload))
        model = AnomalyModel(
            saved["forest"], tuple(saved["features"]), saved["visitors"], saved["trained_at"]
        )
    except Exception as exc:  # an unreadable pickle, a scikit-learn that cannot load it
        logger.warning("Anomaly model cannot be loaded (%s): the anomaly rule is skipped", exc)
        return None
    if model.features != FEATURE_NAMES:
        logger.warning("Anomaly model has other features: the anomaly rule is skipped")
        return None
    return model


def _signature(payload: bytes) -> bytes:
    key = hashlib.sha256(b"recommendations.fraud.anomaly:" + str(settings.SECRET_KEY).encode())
    return hmac.new(key.digest(), payload, hashlib.sha256).digest()
