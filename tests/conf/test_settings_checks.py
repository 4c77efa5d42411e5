"""The settings rules: one test per check ID, and no key without a rule or a read type."""

from __future__ import annotations

import types
import typing
from collections.abc import Collection
from os import PathLike
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from recommendations.checks import RULES, check_settings
from recommendations.conf import DEFAULTS, AppSettings, app_settings


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [m.id for m in messages]


def with_values(settings: Any, **values: Any) -> list[checks.CheckMessage]:
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, **values}
    return check_settings()


def test_every_default_has_a_rule():
    assert sorted(RULES) == sorted(DEFAULTS)


def test_every_default_has_a_read_type():
    assert sorted(typing.get_type_hints(AppSettings)) == sorted(DEFAULTS)


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_default_passes_its_rule(name):
    assert list(RULES[name].problems(name, DEFAULTS[name])) == []


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_default_matches_its_read_type(name):
    """The annotation a type checker trusts agrees with the default (import strings aside)."""
    hint = typing.get_type_hints(AppSettings)[name]
    value = DEFAULTS[name]
    if name == "CATALOG_ADAPTER":
        value = app_settings.CATALOG_ADAPTER
    assert conforms(value, hint), f"{name} = {value!r} is not {hint}"


def conforms(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is type:
        return isinstance(value, type)
    if origin is dict:
        return isinstance(value, dict) and all(
            conforms(k, args[0]) and conforms(v, args[1]) for k, v in value.items()
        )
    if origin in (list, Collection):
        return isinstance(value, origin) and all(conforms(v, args[0]) for v in value)
    if origin is PathLike:
        return isinstance(value, PathLike)
    return isinstance(value, hint)


def test_installation_passes():
    assert check_settings() == []


def test_e001_unknown_key_suggests_the_known_one(settings):
    (error,) = with_values(settings, TRAINING_DEVISE="cpu")
    assert error.id == "recommendations.E001"
    assert "'TRAINING_DEVICE'" in error.hint


def test_e030_wrong_type(settings):
    (error,) = with_values(settings, BEACON_MAX_EVENTS="100")
    assert error.id == "recommendations.E030"
    assert "BEACON_MAX_EVENTS" in error.msg and "an integer" in error.hint


def test_e030_bool_is_not_a_number_nor_a_number_a_bool(settings):
    assert (
        ids(with_values(settings, PRECOMPUTE_LENGTH=True, RESPECT_DNT=1))
        == ["recommendations.E030"] * 2
    )


def test_e030_none_where_not_nullable(settings):
    (error,) = with_values(settings, REDIS_TIMEOUT=None)
    assert error.id == "recommendations.E030"


def test_e030_entry_of_a_dict(settings):
    (error,) = with_values(settings, TRAINING_WEIGHTS={"view": "1"})
    assert error.id == "recommendations.E030"
    assert "['TRAINING_WEIGHTS']['view']" in error.msg


def test_e031_out_of_range(settings):
    messages = with_values(settings, REDIS_TIMEOUT=-0.5, MAX_CATEGORY_SHARE=1.5, KEEP_VERSIONS=-1)
    assert ids(messages) == ["recommendations.E031"] * 3
    assert "> 0" in messages[0].hint


def test_e031_not_finite(settings):
    assert ids(with_values(settings, TRAINING_TIME_BUDGET=float("inf"))) == ["recommendations.E031"]


def test_e032_not_a_choice(settings):
    messages = with_values(
        settings,
        TRAINING_DEVICE="gpu",
        TRENDING_WEIGHTS={"veiw": 1.0},
        EXCLUDE_PURCHASED_SLOTS=["for_you"],
    )
    assert ids(messages) == ["recommendations.E032"] * 3
    by_key = {m.msg.split("]")[0]: m for m in messages}
    weights = by_key["RECOMMENDATIONS['TRENDING_WEIGHTS'"]
    assert "'veiw'" in weights.msg and "'view'" in weights.hint
    assert "'for-you'" in by_key["RECOMMENDATIONS['EXCLUDE_PURCHASED_SLOTS'"].hint


def test_e033_empty_name(settings):
    (error,) = with_values(settings, VISITOR_COOKIE_NAME="")
    assert error.id == "recommendations.E033"


@pytest.mark.parametrize(
    "spec", [{"every": 0}, {"crontab": "0 4 * *"}, {"every": 60, "crontab": "0 4 * * *"}, 60]
)
def test_e034_bad_schedule(settings, spec):
    (error,) = with_values(settings, SCHEDULES={"recommendations.train_full": spec})
    assert error.id == "recommendations.E034"


def test_e035_default_limit_above_max_limit(settings):
    assert ids(with_values(settings, DEFAULT_LIMIT=20, MAX_LIMIT=10)) == ["recommendations.E035"]


def test_e036_unknown_storage_alias(settings):
    (error,) = with_values(settings, ARTIFACT_STORAGE="models")
    assert error.id == "recommendations.E036"
    assert "default" in error.hint


def test_e037_review_score_above_block_score(settings):
    (error,) = with_values(settings, RISK_REVIEW_SCORE=90, RISK_BLOCK_SCORE=60)
    assert error.id == "recommendations.E037"
    assert "RISK_REVIEW_SCORE" in error.msg


def test_e038_min_history_longer_than_the_history_read(settings):
    (error,) = with_values(settings, INSIGHTS_HISTORY_DAYS=30, INSIGHTS_MIN_HISTORY_DAYS=60)
    assert error.id == "recommendations.E038"
    assert "INSIGHTS_MIN_HISTORY_DAYS" in error.msg


def test_e039_restock_lead_time_not_shorter_than_overstock(settings):
    (error,) = with_values(settings, RESTOCK_LEAD_DAYS=21, OVERSTOCK_WEEKS=3)
    assert error.id == "recommendations.E039"
    assert with_values(settings, RESTOCK_LEAD_DAYS=20, OVERSTOCK_WEEKS=3) == []


def test_keys_with_their_own_check_are_not_reported_twice(settings):
    """TRACKED_VIEWS and PRODUCT_FIELDS are reported by E004/E005 only."""
    assert with_values(settings, TRACKED_VIEWS=["shop:product_detail"], PRODUCT_FIELDS=1) == []


def test_wrong_values_fail_manage_py_check(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REDIS_RETRY_AFTER": -5}
    assert "recommendations.E031" in ids(checks.run_checks())


class TestTypedReads:
    def test_reads_are_lazy_and_follow_setting_changes(self):
        with override_settings(RECOMMENDATIONS={"DEFAULT_LIMIT": 3}):
            assert app_settings.DEFAULT_LIMIT == 3
        assert app_settings.DEFAULT_LIMIT != 3

    def test_annotations_are_not_class_attributes(self):
        """Declaring the types must not shadow the lazy lookup."""
        assert not any(name in vars(AppSettings) for name in DEFAULTS)

    def test_unknown_attribute(self):
        with pytest.raises(AttributeError):
            app_settings.NOT_A_SETTING  # noqa: B018

    def test_not_a_dict_is_improperly_configured(self):
        with (
            override_settings(RECOMMENDATIONS=["DEFAULT_LIMIT"]),
            pytest.raises(ImproperlyConfigured),
        ):
            app_settings.DEFAULT_LIMIT  # noqa: B018


def test_a_numbered_gpu_is_a_device(settings):
    assert with_values(settings, TRAINING_DEVICE="cuda:1") == []
    (error,) = with_values(settings, TRAINING_DEVICE="cuda:one")
    assert error.id == "recommendations.E032" and "cuda:<index>" in error.hint


def test_the_currency_is_an_iso_code(settings):
    assert with_values(settings, CURRENCY="EUR") == []
    assert with_values(settings, CURRENCY=None) == []
    (error,) = with_values(settings, CURRENCY="£")
    assert error.id == "recommendations.E032" and "ISO 4217" in error.hint
