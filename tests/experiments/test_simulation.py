"""The method holds its promises on seeded simulations through the real code."""

from __future__ import annotations

import json
import math
from io import StringIO

from django.core.management import call_command

from recommendations.experiments import simulation


def test_aa_false_positives_stay_at_alpha_within_sampling_error():
    report = simulation.run(repetitions=200, seed=7, baseline=0.2, minimum_detectable_effect=0.2)
    error = 3 * math.sqrt(0.05 * 0.95 / 200)
    assert abs(report.aa_false_positive_rate - report.stated_alpha) <= error


def test_a_truly_better_variant_is_detected_at_the_planned_sample():
    # Planned for 90 % power, so that "at least 80 %" is not a coin flip over 200 repetitions.
    report = simulation.run(
        repetitions=200, seed=11, baseline=0.2, minimum_detectable_effect=0.2, power=0.9
    )
    assert report.power >= 0.8


def test_a_45_55_split_of_a_50_50_experiment_raises_the_srm_flag():
    assert simulation.run(repetitions=1, seed=3, baseline=0.2).srm_detected


def test_the_command_prints_one_json_object():
    out = StringIO()
    call_command(
        "recommendations_experiment_simulate",
        "--json",
        "--repetitions=5",
        "--baseline=0.3",
        "--effect=0.3",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert set(report) == {
        "aa_false_positive_rate",
        "stated_alpha",
        "power",
        "srm_detected",
        "repetitions",
    }
    assert isinstance(report["srm_detected"], bool) and report["repetitions"] == 5
