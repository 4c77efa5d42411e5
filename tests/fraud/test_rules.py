"""Rule defaults: one row per rule, installed when missing, never overwriting staff edits."""

from __future__ import annotations

import pytest

from recommendations.fraud.rules import DEFAULTS, HELP, current_rules, install_rules
from recommendations.models import RiskRule, RiskRuleCode

pytestmark = pytest.mark.django_db


def test_migrate_installs_one_rule_per_code_with_help():
    assert set(RiskRule.objects.values_list("code", flat=True)) == set(RiskRuleCode.values)
    assert set(HELP) == set(DEFAULTS) == set(RiskRuleCode.values)
    for help_ in HELP.values():
        assert help_.threshold and help_.window and help_.summary


def test_installing_again_keeps_staff_edits_and_restores_deleted_rules():
    RiskRule.objects.filter(code=RiskRuleCode.ORDER_VELOCITY).update(
        threshold=7, weight=10, enabled=False
    )
    RiskRule.objects.filter(code=RiskRuleCode.ANOMALY).delete()

    assert install_rules() == [RiskRuleCode.ANOMALY]

    edited = RiskRule.objects.get(code=RiskRuleCode.ORDER_VELOCITY)
    assert (edited.threshold, edited.weight, edited.enabled) == (7, 10, False)
    assert RiskRule.objects.get(code=RiskRuleCode.ANOMALY).weight == DEFAULTS["anomaly"].weight
    assert current_rules()["order_velocity"].threshold == 7
