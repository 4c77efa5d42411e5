"""Visitor scoring: scripted browsing is flagged, shoppers are not; the anomaly model is
trained by its task and a damaged model file never fails scoring."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations.fraud import anomaly
from recommendations.models import ReviewStatus, RiskAssessment, RiskLevel, RiskSubject
from recommendations.models.registry import artifact_storage
from recommendations.tasks import score_visitors, train_anomaly_model

from .attacks import Traffic, scraping_bot

pytestmark = pytest.mark.django_db


def shoppers(traffic: Traffic, count: int, start) -> list[str]:
    """Visitors browsing as people do: seconds to minutes on a page, the beacon running,
    something put in the cart now and then."""
    keys = []
    for n in range(count):
        visitor = traffic.visitor("shopper")
        pages = traffic.rng.randint(3, 14)
        items = [str(traffic.rng.randint(1, 80)) for _ in range(pages)]
        traffic.browse(
            visitor=visitor,
            items=items,
            start=start + timedelta(seconds=n * 20),
            gap=(8, 150),
            carts=traffic.rng.choice((0, 0, 1, 2)),
        )
        keys.append(f"v:{visitor}")
    return keys


def visitor_assessment(key: str) -> RiskAssessment | None:
    return RiskAssessment.objects.filter(subject=RiskSubject.VISITOR, key=key).first()


def test_a_scraper_is_flagged_and_shoppers_get_no_row(django_capture_on_commit_callbacks):
    traffic = Traffic(seed=11)
    now = timezone.now()
    bot = scraping_bot(traffic, now - timedelta(minutes=5))
    people = shoppers(traffic, 30, now - timedelta(minutes=40))
    traffic.flush()

    with django_capture_on_commit_callbacks(execute=True):
        result = score_visitors.delay().get()

    assert result["visitors"] == 31 and result["flagged"] == 1
    assessment = visitor_assessment(bot.visitors[0])
    assert assessment.status == ReviewStatus.OPEN and assessment.level != RiskLevel.ALLOW
    (reason,) = assessment.reasons
    assert reason["rule"] == "bot_browsing" and reason["points"] == 60
    assert "150 product views in " in reason["detail"]
    assert "no page ever ran the beacon" in reason["detail"]
    assert not RiskAssessment.objects.filter(key__in=people).exists()

    # The next run reads only what was stored since: nothing new, nobody scored again.
    assert score_visitors.delay().get() == {"visitors": 0, "flagged": 0}


def test_the_anomaly_model_is_trained_by_its_task_and_flags_outliers(
    django_capture_on_commit_callbacks,
):
    traffic = Traffic(seed=12)
    now = timezone.now()
    shoppers(traffic, 80, now - timedelta(minutes=50))
    traffic.flush()
    assert train_anomaly_model.delay().get()["status"] == "finished"
    assert artifact_storage().exists(anomaly.MODEL_NAME)

    bot = scraping_bot(traffic, now - timedelta(minutes=2), pages=60)
    people = shoppers(traffic, 10, now - timedelta(minutes=30))
    traffic.flush()
    with django_capture_on_commit_callbacks(execute=True):
        score_visitors.delay().get()

    assessment = visitor_assessment(bot.visitors[0])
    assert {r["rule"] for r in assessment.reasons} == {"bot_browsing", "anomaly"}
    flagged = RiskAssessment.objects.filter(key__in=people).exclude(level=RiskLevel.ALLOW)
    assert not flagged.exists()


def test_too_few_visitors_write_no_model():
    traffic = Traffic(seed=13)
    shoppers(traffic, 5, timezone.now() - timedelta(minutes=30))
    traffic.flush()
    result = train_anomaly_model.delay().get()
    assert result["status"] == "skipped" and "too few" in result["message"]
    assert not artifact_storage().exists(anomaly.MODEL_NAME)


@pytest.mark.parametrize("damage", ["truncated", "altered", "garbage"])
def test_a_damaged_anomaly_model_is_skipped_and_scoring_goes_on(
    damage, caplog, django_capture_on_commit_callbacks
):
    traffic = Traffic(seed=14)
    now = timezone.now()
    shoppers(traffic, 60, now - timedelta(minutes=50))
    traffic.flush()
    train_anomaly_model.delay().get()
    storage = artifact_storage()
    with storage.open(anomaly.MODEL_NAME, "rb") as handle:
        blob = handle.read()
    damaged = {
        "truncated": blob[: len(blob) // 2],
        "altered": blob[:-10] + bytes(10),
        "garbage": b"not a model",
    }[damage]
    with open(storage.path(anomaly.MODEL_NAME), "wb") as handle:
        handle.write(damaged)

    bot = scraping_bot(traffic, now - timedelta(minutes=2))
    traffic.flush()
    with (
        caplog.at_level(logging.WARNING, logger="recommendations.fraud"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = score_visitors.delay().get()

    assert result["flagged"] == 1
    assert [r["rule"] for r in visitor_assessment(bot.visitors[0]).reasons] == ["bot_browsing"]
    assert "the anomaly rule is skipped" in caplog.text
