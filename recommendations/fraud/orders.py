"""Order rules: velocity, failed payments, cards, value, new accounts, addresses.

Counting windows reach both sides of the order: an order scored when it is placed counts what
came before it, and when a later order trips a rule, the earlier orders it counted are scored
again (``related``), so that every order of a burst or a ring ends up in front of staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from django.contrib.auth import get_user_model

from recommendations.models import RiskRuleCode, RiskSubject

from .features import (
    OrderFacts,
    address_attempts,
    order_facts,
    person_attempts,
    person_orders,
)
from .rules import RuleConfig, enabled_rules
from .scoring import record

#: Earlier orders the value rule needs before it judges a customer's usual spend.
VALUE_HISTORY_MIN = 3
#: The rules whose tripping gets the orders they counted scored again.
RELATING = (
    RiskRuleCode.ORDER_VELOCITY,
    RiskRuleCode.FAILED_PAYMENTS,
    RiskRuleCode.CARD_VELOCITY,
    RiskRuleCode.SHARED_ADDRESS,
)


@dataclass(slots=True)
class OrderVerdict:
    reasons: list[dict] = field(default_factory=list)
    related: set[str] = field(default_factory=set)

    def add(self, rule: RuleConfig, detail: str, points: int | None = None) -> None:
        self.reasons.append(
            {
                "rule": str(rule.code),
                "points": rule.weight if points is None else points,
                "detail": detail,
                "threshold": rule.threshold,
                "window_minutes": rule.window_minutes,
            }
        )


def judge_order(facts: OrderFacts, rules: dict[str, RuleConfig]) -> OrderVerdict:
    """The rules an order trips, and the other orders worth scoring again because of it."""
    verdict = OrderVerdict()
    who = _who(facts)
    if rule := rules.get(RiskRuleCode.ORDER_VELOCITY):
        window = _window(rule)
        orders = set(person_orders(facts, facts.at - window, facts.at + window)) | {facts.order_id}
        if len(orders) >= rule.threshold:
            verdict.add(rule, f"{len(orders)} orders in {_span(rule)} from {who}")
            verdict.related |= orders
    attempt_rules = [
        rules.get(code)
        for code in (
            RiskRuleCode.FAILED_PAYMENTS,
            RiskRuleCode.CARD_VELOCITY,
            RiskRuleCode.MANY_ADDRESSES,
        )
    ]
    enabled = [rule for rule in attempt_rules if rule is not None]
    widest = max((_window(rule) for rule in enabled), default=timedelta(0))
    person = person_attempts(facts, facts.at - widest, facts.at + widest) if enabled else []
    for rule in enabled:
        window = _window(rule)
        attempts = [row for row in person if abs(row.created - facts.at) <= window]
        if rule.code == RiskRuleCode.FAILED_PAYMENTS:
            failed = sum(not row.approved for row in attempts)
            if failed >= rule.threshold:
                verdict.add(rule, f"{failed} failed payments in {_span(rule)} from {who}")
                verdict.related |= {row.order_id for row in attempts if row.order_id}
        elif rule.code == RiskRuleCode.CARD_VELOCITY:
            cards = {row.card for row in attempts if row.card} | ({facts.card} - {""})
            if len(cards) >= rule.threshold:
                verdict.add(rule, f"{len(cards)} different cards in {_span(rule)} from {who}")
                verdict.related |= {row.order_id for row in attempts if row.order_id}
        else:
            addresses = {row.address for row in attempts if row.address} | ({facts.address} - {""})
            if len(addresses) >= rule.threshold:
                verdict.add(
                    rule, f"{len(addresses)} shipping addresses in {_span(rule)} from {who}"
                )
    if rule := rules.get(RiskRuleCode.SHARED_ADDRESS):
        window = _window(rule)
        sharing = address_attempts(facts.address, facts.at - window, facts.at + window)
        accounts = {_account(row.user_id, row.email) for row in sharing} | {
            _account(facts.user_id, facts.email)
        }
        accounts.discard("")
        if facts.address and len(accounts) >= rule.threshold:
            verdict.add(
                rule,
                f"{len(accounts)} accounts shipped to {facts.address!r} in {_span(rule)}",
            )
            verdict.related |= {row.order_id for row in sharing if row.order_id}
    if facts.amount is not None:
        _judge_value(facts, rules, verdict, who)
    verdict.related.discard(facts.order_id)
    verdict.related.discard("")
    return verdict


def _judge_value(
    facts: OrderFacts, rules: dict[str, RuleConfig], verdict: OrderVerdict, who: str
) -> None:
    amount = facts.amount or Decimal(0)
    if rule := rules.get(RiskRuleCode.VALUE_OUTLIER):
        history = person_orders(facts, facts.at - _window(rule), facts.at)
        earlier = [
            order.amount
            for order_id, order in history.items()
            if order_id != facts.order_id and order.amount and order.at < facts.at
        ]
        if len(earlier) >= VALUE_HISTORY_MIN:
            usual = Decimal(median(earlier))
            if usual > 0 and amount >= usual * Decimal(str(rule.threshold)):
                verdict.add(
                    rule,
                    f"order of {amount:.2f} is {amount / usual:.1f} times {who}'s median order "
                    f"({usual:.2f} over {len(earlier)} orders)",
                )
    if (rule := rules.get(RiskRuleCode.NEW_ACCOUNT_HIGH_VALUE)) and amount >= Decimal(
        str(rule.threshold)
    ):
        window = _window(rule)
        new = _first_seen_after(facts, facts.at - window)
        if new:
            verdict.add(rule, f"order of {amount:.2f} from {new} ({_span(rule)} old at most)")


def _first_seen_after(facts: OrderFacts, cutoff: datetime) -> str:
    """Either "a new account" or "a new customer" when the person was first seen after ``cutoff``,
    else ""."""
    if facts.user_id is not None:
        joined = (
            get_user_model()
            .objects.filter(pk=facts.user_id)
            .values_list("date_joined", flat=True)
            .first()
        )
        if joined is not None:
            return "a new account" if joined >= cutoff else ""
    if not facts.from_attempt and not facts.user_key:
        return ""
    older = person_orders(facts, cutoff - timedelta(days=3650), cutoff)
    older.pop(facts.order_id, None)
    return "" if older else "a new customer"


def _who(facts: OrderFacts) -> str:
    if facts.email:
        return facts.email
    if facts.user_id is not None:
        name = (
            get_user_model()
            .objects.filter(pk=facts.user_id)
            .values_list(get_user_model().USERNAME_FIELD, flat=True)
            .first()
        )
        return f"account {name}" if name else "one account"
    return "one browser"


def _account(user_id: int | None, email: str) -> str:
    if user_id is not None:
        return f"user:{user_id}"
    return f"email:{email}" if email else ""


def _window(rule: RuleConfig) -> timedelta:
    return timedelta(minutes=rule.window_minutes)


def _span(rule: RuleConfig) -> str:
    """``window_minutes`` in words: "10 minutes", "24 hours", "30 days"."""
    minutes = rule.window_minutes
    if minutes < 120:
        return f"{minutes} minute{'s' * (minutes != 1)}"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} hours"
    return f"{round(minutes / 1440)} days"


def score_orders(order_ids: list[str], since: datetime | None = None) -> dict[str, int]:
    """Score the orders (ids as text), then once more the earlier orders a tripped rule
    counted; ``since`` bounds the search for the purchase events of orders with no checkout
    attempt. Returns counts."""
    rules = enabled_rules()
    done: set[str] = set()
    counts = {"orders": 0, "flagged": 0, "held": 0}
    batch = [str(order_id) for order_id in order_ids]
    reach = timedelta(
        minutes=max((rules[code].window_minutes for code in RELATING if code in rules), default=0)
    )
    for _ in range(2):
        facts = order_facts(batch, since)
        related: set[str] = set()
        for order_id in batch:
            if order_id in done or order_id not in facts:
                continue
            done.add(order_id)
            verdict = judge_order(facts[order_id], rules)
            scored = record(
                RiskSubject.ORDER,
                order_id,
                verdict.reasons,
                user_id=facts[order_id].user_id,
                visitor_id=facts[order_id].visitor_id,
            )
            counts["orders"] += 1
            counts["flagged"] += bool(scored and scored.flagged)
            counts["held"] += bool(scored and scored.held)
            related |= verdict.related
        batch = sorted(related - done)
        if not batch or not facts:
            break
        since = min(found.at for found in facts.values()) - reach
    return counts
