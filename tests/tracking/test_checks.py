"""One test per system check ID."""

from __future__ import annotations

from django.core import checks
from django.test import override_settings

from recommendations.checks import (
    check_catalog,
    check_middleware,
    check_redis,
    check_settings,
    check_tracked_views,
)
from tests.processes import free_port


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


def test_project_passes_all_checks():
    assert [m for m in checks.run_checks() if m.id and m.id.startswith("recommendations.")] == []


def test_e001_unknown_setting(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_EVENT": 10}
    (error,) = check_settings()
    assert error.id == "recommendations.E001"
    assert "BEACON_MAX_EVENT" in error.msg


def test_e001_not_a_dict(settings):
    settings.RECOMMENDATIONS = [("BEACON_MAX_EVENTS", 100)]
    assert ids(check_settings()) == ["recommendations.E001"]


def test_e002_middleware_missing(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "recommendations" not in m]
    assert ids(check_middleware()) == ["recommendations.E002"]


def test_e002_middleware_before_authentication(settings):
    ours = "recommendations.middleware.TrackingMiddleware"
    rest = [m for m in settings.MIDDLEWARE if m != ours]
    settings.MIDDLEWARE = [rest[0], ours, *rest[1:]]
    (error,) = check_middleware()
    assert error.id == "recommendations.E002"
    assert "before" in error.msg


def test_e003_adapter_not_importable(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "CATALOG_ADAPTER": "shop.nowhere.Catalog",
    }
    assert ids(check_catalog()) == ["recommendations.E003"]


def test_e004_tracked_views_shape(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "TRACKED_VIEWS": {"shop:product_detail": 1},
    }
    assert ids(check_tracked_views()) == ["recommendations.E004"]


def test_w001_redis_unreachable(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    assert ids(check_redis()) == ["recommendations.W001"]


def test_w002_default_adapter_without_product_model(settings):
    with override_settings(
        RECOMMENDATIONS={"CATALOG_ADAPTER": "recommendations.catalog.ModelCatalog"}
    ):
        assert ids(check_catalog()) == ["recommendations.W002"]
