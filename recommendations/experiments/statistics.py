"""The tests behind an experiment's verdicts, all from scipy (no hand-written distributions).

Fixed-horizon frequentist tests, each variant against the control:

- proportions (conversion, CTR): two-sided two-proportion z-test with the unpooled standard
  error, whose interval and p-value therefore agree (``scipy._stats().norm``);
- means per visitor (revenue, orders): Welch's t-test and its interval
  (``scipy._stats().ttest_ind(equal_var=False)``), robust to unequal variances;
- the guardrail: the same Welch test, one-sided, asking whether the variant is *lower*;
- sample-ratio mismatch: a chi-square goodness-of-fit test of the visitor counts against the
  configured split (``scipy._stats().chisquare``), flagged below :data:`SRM_THRESHOLD`.

Relative numbers ("12 % better") are the absolute difference and its interval divided by the
control's value, treated as known; so the relative interval excludes zero exactly when the
absolute one does and the statement never contradicts the test. docs/experiments.md has more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: p-value below which a sample-ratio mismatch is flagged (GrowthBook's default).
SRM_THRESHOLD = 0.001


def _stats() -> Any:
    """``scipy.stats``, imported on first use: it weighs about 60 MB, and web processes import
    this module (admin's results pages) long before, if ever, a page computes with it."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class Comparison:
    """A variant's metric against the control's, with the interval at ``confidence``."""

    control: float
    variant: float
    difference: float
    low: float
    high: float
    p_value: float
    confidence: float
    enough_data: bool = True

    @property
    def significant(self) -> bool:
        return self.enough_data and self.p_value < 1.0 - self.confidence

    @property
    def relative(self) -> float | None:
        return self.difference / self.control if self.control else None

    @property
    def relative_low(self) -> float | None:
        return self.low / self.control if self.control else None

    @property
    def relative_high(self) -> float | None:
        return self.high / self.control if self.control else None


def planned_sample_per_variant(
    baseline: float, minimum_detectable_effect: float, alpha: float, power: float
) -> int:
    """Visitors each variant needs so that a relative lift of ``minimum_detectable_effect`` on a
    conversion rate of ``baseline`` is detected with probability ``power`` by a two-sided test at
    ``alpha``:

        n = (z(1-alpha/2) * sqrt(2 p (1-p)) + z(power) * sqrt(p1 (1-p1) + p2 (1-p2)))^2 / (p2-p1)^2

    with p1 the baseline, p2 = p1 (1 + effect) and p their mean (the normal approximation).
    """
    p1 = baseline
    p2 = min(baseline * (1.0 + minimum_detectable_effect), 0.9999)
    if p2 <= p1:
        raise ValueError("the minimum detectable effect must raise the rate")
    mean = (p1 + p2) / 2
    z_alpha = float(_stats().norm.ppf(1 - alpha / 2))
    z_power = float(_stats().norm.ppf(power))
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(
        p1 * (1 - p1) + p2 * (1 - p2)
    )
    return math.ceil(root**2 / (p2 - p1) ** 2)


def compare_proportions(
    control_successes: int,
    control_trials: int,
    variant_successes: int,
    variant_trials: int,
    *,
    alpha: float,
) -> Comparison:
    """Two-proportion z-test (unpooled standard error) of variant minus control."""
    confidence = 1.0 - alpha
    if control_trials == 0 or variant_trials == 0:
        return _not_enough(
            control_successes, control_trials, variant_successes, variant_trials, confidence
        )
    p_control = control_successes / control_trials
    p_variant = variant_successes / variant_trials
    difference = p_variant - p_control
    se = math.sqrt(
        p_control * (1 - p_control) / control_trials + p_variant * (1 - p_variant) / variant_trials
    )
    if se == 0.0:
        return Comparison(
            p_control, p_variant, difference, difference, difference, 1.0, confidence, False
        )
    z = float(_stats().norm.ppf(1 - alpha / 2))
    p_value = float(2 * _stats().norm.sf(abs(difference) / se))
    return Comparison(
        p_control,
        p_variant,
        difference,
        difference - z * se,
        difference + z * se,
        p_value,
        confidence,
    )


def compare_means(
    control: Sequence[float] | np.ndarray, variant: Sequence[float] | np.ndarray, *, alpha: float
) -> Comparison:
    """Welch's t-test of the variant's mean per visitor minus the control's, with its interval."""
    a = np.asarray(control, dtype=float)
    b = np.asarray(variant, dtype=float)
    confidence = 1.0 - alpha
    mean_a = float(a.mean()) if a.size else 0.0
    mean_b = float(b.mean()) if b.size else 0.0
    if a.size < 2 or b.size < 2 or (a.var() == 0.0 and b.var() == 0.0):
        d = mean_b - mean_a
        return Comparison(mean_a, mean_b, d, d, d, 1.0, confidence, False)
    result = _stats().ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(confidence_level=confidence)
    return Comparison(
        mean_a,
        mean_b,
        mean_b - mean_a,
        float(interval.low),
        float(interval.high),
        float(result.pvalue),
        confidence,
    )


def significantly_lower(
    control: Sequence[float] | np.ndarray, variant: Sequence[float] | np.ndarray, *, alpha: float
) -> tuple[bool, float]:
    """Whether the variant's mean is significantly below the control's (one-sided Welch test),
    and the p-value: the guardrail's question, which only a drop answers with yes."""
    a = np.asarray(control, dtype=float)
    b = np.asarray(variant, dtype=float)
    if a.size < 2 or b.size < 2 or (a.var() == 0.0 and b.var() == 0.0):
        return False, 1.0
    p_value = float(_stats().ttest_ind(b, a, equal_var=False, alternative="less").pvalue)
    return p_value < alpha, p_value


def sample_ratio_mismatch(observed: Sequence[int], weights: Sequence[float]) -> tuple[bool, float]:
    """Whether the visitor counts are implausible under the configured split (chi-square
    goodness of fit, flagged at p < :data:`SRM_THRESHOLD`), and the p-value. A mismatch means
    assignment or exposure logging is broken, and every other number of the experiment is
    suspect."""
    total = sum(observed)
    if total == 0 or len(observed) < 2:
        return False, 1.0
    weight_sum = sum(weights)
    expected = [total * w / weight_sum for w in weights]
    p_value = float(_stats().chisquare(list(observed), f_exp=expected).pvalue)
    return p_value < SRM_THRESHOLD, p_value


def _not_enough(
    control_successes: int,
    control_trials: int,
    variant_successes: int,
    variant_trials: int,
    confidence: float,
) -> Comparison:
    p_control = control_successes / control_trials if control_trials else 0.0
    p_variant = variant_successes / variant_trials if variant_trials else 0.0
    d = p_variant - p_control
    return Comparison(p_control, p_variant, d, d, d, 1.0, confidence, False)
