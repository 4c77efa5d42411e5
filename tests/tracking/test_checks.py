"""One test per system check ID."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO

import pytest
from django.core import checks
from django.core.management import call_command
from django.test import override_settings

from recommendations import redis_client
from recommendations.checks import (
    check_catalog,
    check_middleware,
    check_redis,
    check_settings,
    check_tracked_views,
)
from tests.processes import free_port, stop, wait_for


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


def test_project_passes_all_checks():
    # W003 describes the Redis the suite runs against (a throwaway without AOF), not the project:
    # the test_w003_* tests below give it a Redis of their own.
    found = [m for m in checks.run_checks() if m.id and m.id.startswith("recommendations.")]
    assert [m for m in found if m.id != "recommendations.W003"] == []


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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--appendonly", "no"], "appendonly is off"),
        (
            ["--appendonly", "yes", "--maxmemory-policy", "allkeys-lru"],
            "maxmemory-policy is allkeys-lru",
        ),
    ],
)
def test_w003_a_redis_that_can_lose_accepted_events(settings, tmp_path, arguments, problem):
    """Measured by the fault test that found it: without AOF a restart lost 500 of 500 queued
    events, with allkeys-lru an eviction 6,800 of 10,000."""
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(tmp_path), *arguments],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        settings.RECOMMENDATIONS = {
            **settings.RECOMMENDATIONS,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        }
        assert wait_for(lambda: redis_client.available() and _answers(port), timeout=10)
        messages = check_redis()
        assert ids(messages) == ["recommendations.W003"]
        assert problem in messages[0].msg
        output = StringIO()
        call_command(
            "recommendations_ingest",
            "--until-idle",
            "--name",
            "w003",
            stderr=output,
            stdout=StringIO(),
        )
        assert problem in output.getvalue()
    finally:
        stop(server)


@pytest.mark.slow
def test_w003_is_quiet_for_a_durable_redis(settings, tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(tmp_path), "--appendonly", "yes", "--maxmemory-policy", "noeviction"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        settings.RECOMMENDATIONS = {
            **settings.RECOMMENDATIONS,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        }
        assert wait_for(lambda: _answers(port), timeout=10)
        assert check_redis() == []
    finally:
        stop(server)


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(port=port).ping())
    except redis.RedisError:
        return False
