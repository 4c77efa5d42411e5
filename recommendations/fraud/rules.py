"""The rules' defaults, what their numbers mean, and the configuration scoring reads.

One :class:`~recommendations.models.RiskRule` row per :class:`RiskRuleCode` is installed after
``migrate`` when missing; a row that exists is never touched, so staff edits survive upgrades.
A rule without a row (the table emptied by hand) runs with its default.

The defaults are set for a small store's ordinary traffic (the demo store's seeded customers
order a few times a week, for tens of pounds): no single rule reaches ``RISK_REVIEW_SCORE`` (50)
on its own except those that rarely trip for people (failed payments with many cards, one
address shared by several accounts, scripted browsing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recommendations.models import RiskRule, RiskRuleCode


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One rule as scoring uses it."""

    code: str
    enabled: bool
    threshold: float
    window_minutes: int
    weight: int


@dataclass(frozen=True, slots=True)
class RuleHelp:
    """What a rule's numbers mean, for staff editing it (shown in admin)."""

    summary: str
    threshold: str
    window: str


DAY = 24 * 60

#: The installed defaults: (enabled, threshold, window_minutes, weight).
DEFAULTS: dict[str, RuleConfig] = {
    RiskRuleCode.ORDER_VELOCITY: RuleConfig(RiskRuleCode.ORDER_VELOCITY, True, 3, 60, 35),
    RiskRuleCode.FAILED_PAYMENTS: RuleConfig(RiskRuleCode.FAILED_PAYMENTS, True, 3, 60, 40),
    RiskRuleCode.CARD_VELOCITY: RuleConfig(RiskRuleCode.CARD_VELOCITY, True, 3, DAY, 40),
    RiskRuleCode.VALUE_OUTLIER: RuleConfig(RiskRuleCode.VALUE_OUTLIER, True, 5, 365 * DAY, 30),
    RiskRuleCode.NEW_ACCOUNT_HIGH_VALUE: RuleConfig(
        RiskRuleCode.NEW_ACCOUNT_HIGH_VALUE, True, 250, DAY, 30
    ),
    RiskRuleCode.MANY_ADDRESSES: RuleConfig(RiskRuleCode.MANY_ADDRESSES, True, 3, 7 * DAY, 30),
    RiskRuleCode.SHARED_ADDRESS: RuleConfig(RiskRuleCode.SHARED_ADDRESS, True, 3, 30 * DAY, 50),
    RiskRuleCode.BOT_BROWSING: RuleConfig(RiskRuleCode.BOT_BROWSING, True, 20, 60, 60),
    RiskRuleCode.ANOMALY: RuleConfig(RiskRuleCode.ANOMALY, True, 0.6, 60, 25),
}

#: Per rule: what it looks for, what ``threshold`` counts, what ``window_minutes`` covers.
HELP: dict[str, RuleHelp] = {
    RiskRuleCode.ORDER_VELOCITY: RuleHelp(
        "Orders placed by one person (the same account, browser or e-mail address).",
        "Trips at this many orders (the scored one included) within the window.",
        "Minutes either side of the order that are counted.",
    ),
    RiskRuleCode.FAILED_PAYMENTS: RuleHelp(
        "Refused payments by the person placing the order (card testing).",
        "Trips at this many failed payments within the window.",
        "Minutes either side of the order that are counted.",
    ),
    RiskRuleCode.CARD_VELOCITY: RuleHelp(
        "Distinct cards tried by one person, paid or refused.",
        "Trips at this many distinct cards within the window.",
        "Minutes either side of the order that are counted.",
    ),
    RiskRuleCode.VALUE_OUTLIER: RuleHelp(
        "An order far above what the customer usually spends (needs 3 earlier orders).",
        "Trips when the order is at least this many times the customer's median order.",
        "How far back the customer's earlier orders are read, in minutes.",
    ),
    RiskRuleCode.NEW_ACCOUNT_HIGH_VALUE: RuleHelp(
        "A high-value order from an account (or guest e-mail) first seen recently.",
        "The order value (store currency) from which the rule trips.",
        "How recent the account's creation (or the guest's first order) must be, in minutes.",
    ),
    RiskRuleCode.MANY_ADDRESSES: RuleHelp(
        "One person shipping to many different addresses.",
        "Trips at this many distinct shipping addresses within the window.",
        "Minutes either side of the order that are counted.",
    ),
    RiskRuleCode.SHARED_ADDRESS: RuleHelp(
        "One shipping address used by many accounts (fraud rings, drop addresses).",
        "Trips at this many distinct accounts or e-mail addresses using the order's address.",
        "Minutes either side of the order that are counted.",
    ),
    RiskRuleCode.BOT_BROWSING: RuleHelp(
        "Scripted browsing: fast requests, no time on pages, no beacon events, bursts.",
        "The number of product views in the window from which browsing is judged; half the "
        "points for one bot-like signal, all of them for two or more.",
        "Minutes of the visitor's latest activity that are read.",
    ),
    RiskRuleCode.ANOMALY: RuleHelp(
        "Behaviour unlike the store's visitors (an isolation forest trained nightly).",
        "The anomaly score (0-1; around 0.5 is ordinary) from which the rule trips.",
        "Minutes of the visitor's latest activity that are read.",
    ),
}


def install_rules() -> list[str]:
    """Create the rules that have no row yet, with their defaults; return their codes."""
    existing = set(RiskRule.objects.values_list("code", flat=True))
    missing = [rule for code, rule in DEFAULTS.items() if code not in existing]
    RiskRule.objects.bulk_create(
        [
            RiskRule(
                code=rule.code,
                enabled=rule.enabled,
                threshold=rule.threshold,
                window_minutes=rule.window_minutes,
                weight=rule.weight,
            )
            for rule in missing
        ],
        ignore_conflicts=True,
    )
    return [str(rule.code) for rule in missing]


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: once the rules' table exists."""
    from django.db import connections

    if RiskRule._meta.db_table in connections[using].introspection.table_names():
        install_rules()


def current_rules() -> dict[str, RuleConfig]:
    """Every rule as configured now: its row, else its default. Read once per scoring batch, so
    an edit in admin applies from the next batch."""
    rules = dict(DEFAULTS)
    for code, enabled, threshold, window, weight in RiskRule.objects.values_list(
        "code", "enabled", "threshold", "window_minutes", "weight"
    ):
        if code in rules:
            rules[code] = RuleConfig(code, enabled, float(threshold), int(window), int(weight))
    return rules


def enabled_rules() -> dict[str, RuleConfig]:
    """The rules that run."""
    return {code: rule for code, rule in current_rules().items() if rule.enabled}
