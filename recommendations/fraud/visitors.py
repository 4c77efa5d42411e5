"""Visitor scoring: bot-like browsing and the anomaly score, for visitors active lately.

Run every minute by beat (``recommendations.score_visitors``). Which visitors were active is read
from the events stored since the previous run (an event-id watermark in the cache; without one,
the last rule window); at most :data:`MAX_EVENTS_PER_RUN` events are read per run, so a backlog is
worked off over several runs instead of one long one. A visitor with nothing against them gets no
row; one that has a row is updated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from recommendations.models import Event, RiskRuleCode, RiskSubject

from . import anomaly
from .features import VisitorActivity, visitor_activity, visitor_key
from .rules import RuleConfig, enabled_rules
from .scoring import record

logger = logging.getLogger("recommendations.fraud")

WATERMARK_KEY = "recommendations:fraud:visitors-scored-to"
MAX_EVENTS_PER_RUN = 50_000
#: Bot-like signals (besides the number of views): views a minute, share without dwell.
FAST_VIEWS_PER_MINUTE = 10.0
NO_DWELL_SHARE = 0.5


def bot_signals(activity: VisitorActivity) -> list[str]:
    """What looks scripted about the visitor's browsing, in words."""
    signals = []
    if activity.views_per_minute >= FAST_VIEWS_PER_MINUTE:
        signals.append(f"{activity.views_per_minute:.0f} views a minute")
    if activity.no_dwell_share >= NO_DWELL_SHARE:
        signals.append(f"{activity.no_dwell_share:.0%} of pages left within a second")
    if activity.beacon == 0:
        signals.append("no page ever ran the beacon")
    if activity.quarantined:
        signals.append("quarantined for a request burst")
    return signals


def judge_visitor(
    activity: VisitorActivity,
    rules: dict[str, RuleConfig],
    model: anomaly.AnomalyModel | None,
    anomaly_score: float | None = None,
) -> list[dict]:
    """The reasons the visitor's browsing adds up to (empty when nothing trips)."""
    reasons: list[dict] = []
    rule = rules.get(RiskRuleCode.BOT_BROWSING)
    if rule is not None and activity.views >= rule.threshold:
        signals = bot_signals(activity)
        if signals:
            points = rule.weight if len(signals) >= 2 else rule.weight // 2
            reasons.append(
                {
                    "rule": str(rule.code),
                    "points": points,
                    "detail": f"{activity.views} product views in {_minutes(activity)}: "
                    + ", ".join(signals),
                    "threshold": rule.threshold,
                    "window_minutes": rule.window_minutes,
                }
            )
    rule = rules.get(RiskRuleCode.ANOMALY)
    if rule is not None and model is not None and anomaly.judged(activity):
        score = anomaly_score if anomaly_score is not None else model.scores([activity])[0]
        if score >= rule.threshold:
            reasons.append(
                {
                    "rule": str(rule.code),
                    "points": rule.weight,
                    "detail": f"anomaly score {score:.2f} (ordinary visitors score about 0.5)",
                    "threshold": rule.threshold,
                }
            )
    return reasons


def score_visitor_keys(
    keys: list[str], *, until: datetime | None = None, since: datetime | None = None
) -> dict[str, int]:
    """Score the given visitor keys (``"42"``, ``"v:<visitor>"``) on their latest activity
    before ``until`` (default: now; read back to ``since``, default: one window); returns
    counts."""
    rules = enabled_rules()
    windows = [
        rule.window_minutes
        for code, rule in rules.items()
        if code in (RiskRuleCode.BOT_BROWSING, RiskRuleCode.ANOMALY)
    ]
    if not windows or not keys:
        return {"visitors": 0, "flagged": 0}
    model = anomaly.load_model() if RiskRuleCode.ANOMALY in rules else None
    window = timedelta(minutes=max(windows))
    activities = list(visitor_activity(keys, window, until=until, since=since).values())
    judged = [activity for activity in activities if anomaly.judged(activity)]
    anomaly_scores = dict(
        zip((a.key for a in judged), model.scores(judged) if model else [], strict=False)
    )
    flagged = 0
    for activity in activities:
        reasons = judge_visitor(activity, rules, model, anomaly_scores.get(activity.key))
        scored = record(
            RiskSubject.VISITOR,
            activity.key,
            reasons,
            user_id=activity.user_id,
            visitor_id=activity.visitor_id,
            at=until,
            keep_allowed=False,
        )
        flagged += bool(scored and scored.flagged)
    return {"visitors": len(activities), "flagged": flagged}


def score_active_visitors() -> dict[str, int]:
    """Score the visitors with events stored since the previous run."""
    since_id = cache.get(WATERMARK_KEY)
    events = Event.objects.all()
    if since_id is None:
        rules = enabled_rules()
        visitor_rules = (RiskRuleCode.BOT_BROWSING, RiskRuleCode.ANOMALY)
        rule_window = max(
            (rules[code].window_minutes for code in visitor_rules if code in rules), default=60
        )
        start = timezone.now() - timedelta(minutes=min(rule_window, 24 * 60))
        events = events.filter(ts__gte=start)
    else:
        events = events.filter(pk__gt=int(since_id))
    rows = list(
        events.order_by("pk").values_list("pk", "user_id", "visitor_id")[:MAX_EVENTS_PER_RUN]
    )
    if not rows:
        return {"visitors": 0, "flagged": 0}
    keys = sorted({visitor_key(user_id, visitor_id) for _, user_id, visitor_id in rows})
    result = score_visitor_keys(keys)
    cache.set(WATERMARK_KEY, rows[-1][0], None)
    return result


def _minutes(activity: VisitorActivity) -> str:
    minutes = (activity.last - activity.first).total_seconds() / 60
    return f"{minutes:.0f} minutes" if minutes >= 1 else "under a minute"
