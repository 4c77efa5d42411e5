"""Per-variant results against the control, read from the event table, with plain-words verdicts.

Two halves: :func:`analyse` turns per-visitor outcomes into comparisons and statements (pure,
so the simulation runs the same code on synthetic visitors), and :func:`experiment_results`
builds those outcomes from real events:

- a visitor is in the experiment from their first exposure event, in the variant it recorded;
- they converted when a purchase by the same visitor (or by the user their visitor cookie is
  linked to) came at or after that first exposure and before the experiment stopped;
- revenue is price x quantity of those purchases; orders are distinct order ids;
- impressions and clicks are credited to a variant by the suffix of their attribution token.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import numpy as np
from django.db.models.fields.json import KT
from django.utils import timezone

from recommendations.models import Event, EventKind, Experiment, VariantKind, VisitorLink

from . import tokens
from .statistics import (
    Comparison,
    compare_means,
    compare_proportions,
    planned_sample_per_variant,
    sample_ratio_mismatch,
    significantly_lower,
)

_CHUNK = 2000


@dataclass(frozen=True)
class Plan:
    """What the experiment was planned to detect; fixes the sample before it starts."""

    baseline: float
    minimum_detectable_effect: float
    alpha: float
    power: float

    def comparison_alpha(self, treatments: int) -> float:
        """Each variant is compared with the control at ``alpha / treatments`` (Bonferroni), so
        the chance that *any* variant is declared a winner by chance stays at most ``alpha``."""
        return self.alpha / max(treatments, 1)

    def per_variant(self, treatments: int) -> int:
        return planned_sample_per_variant(
            self.baseline,
            self.minimum_detectable_effect,
            self.comparison_alpha(treatments),
            self.power,
        )

    @classmethod
    def of(cls, experiment: Experiment) -> Plan:
        return cls(
            experiment.baseline_conversion,
            experiment.minimum_detectable_effect,
            experiment.alpha,
            experiment.power,
        )


@dataclass
class VariantOutcomes:
    """One variant's visitors, one entry per visitor in each array."""

    key: str
    name: str
    weight: float
    converted: np.ndarray
    revenue: np.ndarray
    orders: np.ndarray
    impressions: int = 0
    clicks: int = 0
    kind: str = VariantKind.CONTROL

    @property
    def visitors(self) -> int:
        return int(self.converted.size)

    @property
    def conversions(self) -> int:
        return int(self.converted.sum())


@dataclass
class VariantResult:
    outcomes: VariantOutcomes
    is_control: bool
    conversion: Comparison | None = None
    ctr: Comparison | None = None
    revenue: Comparison | None = None
    guardrail_failed: bool = False
    guardrail_p: float = 1.0
    statements: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.outcomes.name

    @property
    def visitors(self) -> int:
        return self.outcomes.visitors

    @property
    def conversion_rate(self) -> float:
        o = self.outcomes
        return o.conversions / o.visitors if o.visitors else 0.0

    @property
    def click_through_rate(self) -> float:
        o = self.outcomes
        return o.clicks / o.impressions if o.impressions else 0.0

    @property
    def revenue_per_visitor(self) -> float:
        o = self.outcomes
        return float(o.revenue.mean()) if o.visitors else 0.0

    @property
    def orders_per_visitor(self) -> float:
        o = self.outcomes
        return float(o.orders.mean()) if o.visitors else 0.0


@dataclass
class Analysis:
    plan: Plan
    comparison_alpha: float
    planned_per_variant: int
    variants: list[VariantResult]
    srm: bool
    srm_p: float
    warnings: list[str]

    @property
    def control(self) -> VariantResult:
        return next(v for v in self.variants if v.is_control)

    @property
    def treatments(self) -> list[VariantResult]:
        return [v for v in self.variants if not v.is_control]

    @property
    def below_plan(self) -> bool:
        return min((v.visitors for v in self.variants), default=0) < self.planned_per_variant

    @property
    def confidence_label(self) -> str:
        return f"{(1 - self.comparison_alpha) * 100:g}%"


def analyse(outcomes: list[VariantOutcomes], control_key: str, plan: Plan) -> Analysis:
    """Compare every variant with the control; check the split and the guardrail."""
    treatments = len(outcomes) - 1
    alpha = plan.comparison_alpha(treatments)
    planned = plan.per_variant(treatments)
    control = next(o for o in outcomes if o.key == control_key)
    results = []
    warnings: list[str] = []
    for variant in outcomes:
        if variant is control:
            results.append(VariantResult(variant, True))
            continue
        result = VariantResult(
            variant,
            False,
            conversion=compare_proportions(
                control.conversions,
                control.visitors,
                variant.conversions,
                variant.visitors,
                alpha=alpha,
            ),
            ctr=compare_proportions(
                control.clicks,
                control.impressions,
                variant.clicks,
                variant.impressions,
                alpha=alpha,
            ),
            revenue=compare_means(control.revenue, variant.revenue, alpha=alpha),
        )
        result.guardrail_failed, result.guardrail_p = significantly_lower(
            control.orders, variant.orders, alpha=alpha
        )
        result.statements = [
            _statement(variant.name, control.name, result.conversion, "conversion"),
            _statement(variant.name, control.name, result.revenue, "revenue"),
            _statement(variant.name, control.name, result.ctr, "ctr"),
        ]
        if result.guardrail_failed:
            warnings.append(
                f"Guardrail: {variant.name} has significantly fewer orders per visitor than "
                f"{control.name} (one-sided p = {result.guardrail_p:.3g}); do not ship it."
            )
        results.append(result)
    srm, srm_p = sample_ratio_mismatch([o.visitors for o in outcomes], [o.weight for o in outcomes])
    if srm:
        counts = ", ".join(f"{o.name}: {o.visitors}" for o in outcomes)
        warnings.insert(
            0,
            f"Sample ratio mismatch: the visitor counts ({counts}) are very unlikely under the "
            f"configured split (p = {srm_p:.2g}). Assignment or exposure recording is broken; "
            "do not trust these results.",
        )
    analysis = Analysis(plan, alpha, planned, results, srm, srm_p, warnings)
    if analysis.below_plan:
        smallest = min(v.visitors for v in results)
        warnings.append(
            f"Below the planned sample: the smallest variant has {smallest} of the {planned} "
            "visitors planned. Reading results before the planned sample inflates false "
            "positives; decide once every variant has reached it."
        )
    return analysis


_WORDS = {
    "conversion": ("converts {} better than {}", "converts {} worse than {}", "conversion"),
    "revenue": (
        "earns {} more revenue per visitor than {}",
        "earns {} less revenue per visitor than {}",
        "revenue per visitor",
    ),
    "ctr": (
        "has a {} higher click-through rate than {}",
        "has a {} lower click-through rate than {}",
        "click-through rate",
    ),
}


def _statement(name: str, control: str, comparison: Comparison | None, metric: str) -> str:
    better, worse, label = _WORDS[metric]
    if comparison is None or not comparison.enough_data:
        return f"Not enough data yet to compare the {label} of {name} with {control}."
    if (
        comparison.relative is None
        or comparison.relative_low is None
        or comparison.relative_high is None
    ):
        return (
            f"{control} has no {label} yet, so {name} cannot be compared with it in relative terms."
        )
    phrase = better if comparison.relative >= 0 else worse
    verdict = (
        "the difference is statistically significant."
        if comparison.significant
        else "not significant: could be chance."
    )
    confidence = f"{comparison.confidence * 100:g}%"
    return (
        f"{name} {phrase.format(_percent(abs(comparison.relative)), control)} "
        f"({confidence} CI {_percent(comparison.relative_low)} to "
        f"{_percent(comparison.relative_high)}); {verdict}"
    )


def _percent(share: float) -> str:
    value = share * 100
    return f"{value:.1f}%" if abs(value) < 10 else f"{value:.0f}%"


def experiment_results(experiment: Experiment, now: datetime | None = None) -> Analysis:
    """The experiment's results from its exposure, purchase, impression and click events."""
    variants = list(experiment.variants.all())
    end = experiment.stops_at or now or timezone.now()
    if now is not None:
        end = min(end, now)
    first_seen: dict[str, tuple[datetime, str]] = {}
    users_of: dict[str, set[int]] = defaultdict(set)
    exposures = (
        Event.objects.filter(kind=EventKind.EXPOSURE, context__experiment=experiment.pk)
        .annotate(variant=KT("context__variant"))
        .values_list("visitor_id", "user_id", "ts", "variant")
    )
    for visitor_id, user_id, ts, exposed_to in exposures.iterator(chunk_size=_CHUNK):
        seen = first_seen.get(visitor_id)
        if seen is None or ts < seen[0]:
            first_seen[visitor_id] = (ts, str(exposed_to))
        if user_id is not None:
            users_of[visitor_id].add(user_id)
    for visitor_id, user_id in _links(first_seen):
        users_of[visitor_id].add(user_id)
    # A user with several exposed browsers is credited to the one exposed first.
    visitor_of_user: dict[int, str] = {}
    for visitor_id, user_ids in users_of.items():
        for user_id in user_ids:
            current = visitor_of_user.get(user_id)
            if current is None or first_seen[visitor_id][0] < first_seen[current][0]:
                visitor_of_user[user_id] = visitor_id

    revenue: dict[str, float] = defaultdict(float)
    orders: dict[str, set[str]] = defaultdict(set)
    converted: set[str] = set()
    start = min((ts for ts, _ in first_seen.values()), default=end)
    purchases = (
        Event.objects.filter(kind=EventKind.PURCHASE, ts__gte=start, ts__lt=end)
        .values_list("visitor_id", "user_id", "ts", "value", "context")
        .order_by()
    )
    for visitor_id, user_id, ts, quantity, context in purchases.iterator(chunk_size=_CHUNK):
        who = visitor_id if visitor_id in first_seen else visitor_of_user.get(user_id or -1)
        if who is None or ts < first_seen[who][0]:
            continue
        converted.add(who)
        revenue[who] += _revenue(quantity, context)
        orders[who].add(str(context.get("order", f"event-{ts.timestamp()}")))

    impressions, clicks = _token_counts(experiment.pk, end)
    by_variant: dict[str, list[str]] = defaultdict(list)
    for visitor_id, (_, variant_key) in first_seen.items():
        by_variant[variant_key].append(visitor_id)
    outcomes = []
    for variant in variants:
        visitors = by_variant.get(variant.key, [])
        outcomes.append(
            VariantOutcomes(
                key=variant.key,
                name=variant.name,
                weight=variant.weight,
                kind=variant.kind,
                converted=np.array([v in converted for v in visitors], dtype=float),
                revenue=np.array([revenue.get(v, 0.0) for v in visitors], dtype=float),
                orders=np.array([len(orders.get(v, ())) for v in visitors], dtype=float),
                impressions=impressions.get(variant.key, 0),
                clicks=clicks.get(variant.key, 0),
            )
        )
    control = next(v for v in variants if v.kind == VariantKind.CONTROL)
    analysis = analyse(outcomes, control.key, Plan.of(experiment))
    for variant in variants:
        if variant.kind == VariantKind.MODEL_VERSION and variant.model_version_id is None:
            analysis.warnings.append(
                f"{variant.name}'s model version was deleted; since then it has served as the "
                "control does."
            )
    return analysis


def _links(visitors: Iterable[str]) -> Iterable[tuple[str, int]]:
    ids = list(visitors)
    for i in range(0, len(ids), _CHUNK):
        yield from VisitorLink.objects.filter(visitor_id__in=ids[i : i + _CHUNK]).values_list(
            "visitor_id", "user_id"
        )


def _token_counts(experiment_id: int, end: datetime) -> tuple[dict[str, int], dict[str, int]]:
    impressions: dict[str, int] = defaultdict(int)
    clicks: dict[str, int] = defaultdict(int)
    rows = (
        Event.objects.filter(kind__in=[EventKind.IMPRESSION, EventKind.CLICK], ts__lt=end)
        .annotate(token=KT("context__token"))
        .filter(token__contains=tokens.suffix(experiment_id, ""))
        .values_list("kind", "token")
        .order_by()
    )
    for kind, token in rows.iterator(chunk_size=_CHUNK):
        parsed = tokens.parse_suffix(token)
        if parsed is None or parsed[0] != experiment_id:
            continue
        counts = impressions if kind == EventKind.IMPRESSION else clicks
        counts[parsed[1]] += 1
    return impressions, clicks


def _revenue(quantity: float | None, context: dict) -> float:
    try:
        return float(Decimal(str(context.get("price", "0"))) * Decimal(str(quantity or 1)))
    except (InvalidOperation, TypeError, ValueError):
        return 0.0
