"""Check the experiment statistics by simulation: A/A false positives, power, the SRM flag."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recommendations.experiments import simulation


class Command(BaseCommand):
    help = (
        "Run seeded A/A and A/B experiments through the real assignment and analysis code, and "
        "report the false-positive rate against alpha, the power at the planned sample, and "
        "whether a 45/55 split of a 50/50 experiment is flagged as a sample-ratio mismatch."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--repetitions", type=int, default=200)
        parser.add_argument("--seed", type=int, default=20240601)
        parser.add_argument("--baseline", type=float, default=0.05, help="Control conversion.")
        parser.add_argument(
            "--effect", type=float, default=0.2, help="True relative lift of the A/B variant."
        )
        parser.add_argument("--alpha", type=float, default=0.05)
        parser.add_argument("--power", type=float, default=0.8, help="Planned power.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["repetitions"] < 1:
            raise CommandError("--repetitions must be at least 1")
        try:
            report = simulation.run(
                repetitions=options["repetitions"],
                seed=options["seed"],
                baseline=options["baseline"],
                minimum_detectable_effect=options["effect"],
                alpha=options["alpha"],
                power=options["power"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json()))
            return
        rows = [
            ("repetitions (each)", f"{report.repetitions}"),
            ("visitors per variant (planned)", f"{report.planned_per_variant}"),
            (
                "A/A false-positive rate",
                f"{report.aa_false_positive_rate:.3f}  (stated alpha {report.stated_alpha}, "
                f"sampling error +/- {report.aa_sampling_error:.3f})",
            ),
            (
                "power at the planned sample",
                f"{report.power:.3f}  (planned {report.planned_power})",
            ),
            ("45/55 split of 50/50 flagged (SRM)", "yes" if report.srm_detected else "NO"),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            self.stdout.write(f"{name:<{width}}  {value}")
