"""Seeded simulations that check the method does what docs/experiments.md promises.

Synthetic visitors go through the real code: their ids are bucketed by
:func:`~recommendations.experiments.assignment.assign`, each variant's outcomes are drawn from
its true conversion rate, and the result is judged by
:func:`~recommendations.experiments.results.analyse`, exactly as an experiment's events are.

- A/A: both arms convert alike; the share of repetitions declared significant is the real
  false-positive rate, which should be the stated alpha within sampling error.
- Power: the variant is truly better by the minimum detectable effect; at the planned sample it
  should be detected in about ``power`` of the repetitions.
- SRM: visitors are actually split 45/55 while the experiment says 50/50; the check must flag it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recommendations.models import VariantKind

from .assignment import assign
from .results import Analysis, Plan, VariantOutcomes, analyse

CONTROL = "control"
TREATMENT = "b"
MEAN_ORDER_VALUE = 40.0


@dataclass(frozen=True)
class SimulationReport:
    repetitions: int
    stated_alpha: float
    planned_power: float
    planned_per_variant: int
    aa_false_positive_rate: float
    power: float
    srm_detected: bool

    @property
    def aa_sampling_error(self) -> float:
        """One standard error of the A/A rate around alpha over this many repetitions."""
        return math.sqrt(self.stated_alpha * (1 - self.stated_alpha) / self.repetitions)

    def as_json(self) -> dict[str, object]:
        return {
            "aa_false_positive_rate": self.aa_false_positive_rate,
            "stated_alpha": self.stated_alpha,
            "power": self.power,
            "srm_detected": self.srm_detected,
            "repetitions": self.repetitions,
        }


def simulate_experiment(
    rng: np.random.Generator,
    *,
    plan: Plan,
    visitors: int,
    rates: dict[str, float],
    split: dict[str, float],
    configured: dict[str, float] | None = None,
) -> Analysis:
    """One experiment of ``visitors`` random visitors split by ``split`` (what assignment does)
    and analysed under ``configured`` (what the experiment says; default: ``split``)."""
    key = f"sim-{rng.integers(2**62)}"
    weighted = list(split.items())
    raw = rng.bytes(16 * visitors).hex()
    counts = dict.fromkeys(split, 0)
    for i in range(visitors):
        counts[assign(key, weighted, raw[32 * i : 32 * (i + 1)])] += 1
    configured = configured or split
    outcomes = []
    for variant, count in counts.items():
        converted = (rng.random(count) < rates[variant]).astype(float)
        revenue = converted * rng.exponential(MEAN_ORDER_VALUE, count)
        outcomes.append(
            VariantOutcomes(
                key=variant,
                name="Control" if variant == CONTROL else f"Variant {variant.upper()}",
                weight=configured[variant],
                converted=converted,
                revenue=revenue,
                orders=converted.copy(),
                kind=VariantKind.CONTROL if variant == CONTROL else VariantKind.MODEL_VERSION,
            )
        )
    return analyse(outcomes, CONTROL, plan)


def run(
    *,
    repetitions: int = 200,
    seed: int = 20240601,
    baseline: float = 0.05,
    minimum_detectable_effect: float = 0.2,
    alpha: float = 0.05,
    power: float = 0.8,
) -> SimulationReport:
    """A/A and A/B repetitions at the planned sample, and one SRM check; seeded."""
    rng = np.random.default_rng(seed)
    plan = Plan(baseline, minimum_detectable_effect, alpha, power)
    planned = plan.per_variant(1)
    visitors = 2 * planned
    even = {CONTROL: 50.0, TREATMENT: 50.0}
    same = {CONTROL: baseline, TREATMENT: baseline}
    better = {CONTROL: baseline, TREATMENT: baseline * (1 + minimum_detectable_effect)}
    false_positives = detected = 0
    for _ in range(repetitions):
        aa = simulate_experiment(rng, plan=plan, visitors=visitors, rates=same, split=even)
        false_positives += _significant(aa)
        ab = simulate_experiment(rng, plan=plan, visitors=visitors, rates=better, split=even)
        detected += _significant(ab) and _lift(ab) > 0
    srm = simulate_experiment(
        rng,
        plan=plan,
        visitors=visitors,
        rates=same,
        split={CONTROL: 45.0, TREATMENT: 55.0},
        configured=even,
    )
    return SimulationReport(
        repetitions=repetitions,
        stated_alpha=alpha,
        planned_power=power,
        planned_per_variant=planned,
        aa_false_positive_rate=false_positives / repetitions,
        power=detected / repetitions,
        srm_detected=srm.srm,
    )


def _significant(analysis: Analysis) -> bool:
    conversion = analysis.treatments[0].conversion
    return conversion is not None and conversion.significant


def _lift(analysis: Analysis) -> float:
    conversion = analysis.treatments[0].conversion
    return 0.0 if conversion is None else conversion.difference
