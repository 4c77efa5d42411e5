"""Offline evaluation of every model family, on the store's events or on a CSV of interactions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

#: What each model reports, in this order.
METRICS = ("hr@10", "recall@20", "ndcg@10", "fit_s")


class Command(BaseCommand):
    help = (
        "Hold out each user's latest item (or their whole latest basket, or everything after a "
        "cut-off), fit every model family on the rest and report HR@10, Recall@20 and NDCG@10. "
        "The selected model is chosen on a validation split carved from the training part only, "
        "by the same protocol."
    )
    # With --interactions nothing of the store is needed, not even its database.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--interactions",
            metavar="FILE.csv",
            help="user,item,timestamp[,weight] rows (ISO 8601 or Unix seconds; .gz read "
            "transparently; other columns ignored) instead of the store's events.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--protocol",
            choices=["leave_last_out", "last_basket", "time"],
            default="leave_last_out",
            help="leave_last_out (default, the reference): each user with 3+ items gives up "
            "their latest one (ties by a seeded shuffle). last_basket (stricter): each user with "
            "3+ items over 2+ baskets gives up their whole latest basket, every item sharing "
            "their latest timestamp, so none of its basket-mates is trained on; users with one "
            "basket stay in training only. time: everything after a global cut-off (the latest "
            "20%% of pairs).",
        )
        parser.add_argument(
            "--sequential",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Also the sequential model (sasrec) and its blend with EASE (blend), the "
            "blend's weight chosen on the validation split, as full training runs do (default; "
            "takes a minute or two on a CPU for a few thousand users). --no-sequential leaves "
            "them out.",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--time-budget",
            type=float,
            default=300.0,
            help="Seconds model selection may spend before it stops fitting candidates.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from recommendations.engine.evaluation import evaluate_interactions

        data = self._data(options["interactions"], progress=options["verbosity"] > 0)
        try:
            result = evaluate_interactions(
                data,
                protocol=options["protocol"],
                seed=options["seed"],
                time_budget_s=options["time_budget"],
                sequential=options["sequential"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        models = {
            name: {metric: float(values[metric]) for metric in METRICS}
            for name, values in result["models"].items()
        }
        summary = {"protocol": result["protocol"], "models": models, "selected": result["selected"]}
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        self.stdout.write(f"protocol: {summary['protocol']}")
        self.stdout.write(f"{'model':<18}" + "".join(f"{metric:>11}" for metric in METRICS))
        for name, values in models.items():
            marker = "  <- selected" if name == summary["selected"] else ""
            cells = "".join(f"{values[metric]:>11.4f}" for metric in METRICS)
            self.stdout.write(f"{name:<18}{cells}{marker}")
        self.stdout.write(f"selected: {summary['selected']} (on validation, training part only)")

    def _data(self, path: str | None, progress: bool) -> Any:
        if path is not None:
            if not Path(path).is_file():
                raise CommandError(f"no such file: {path}")
            from recommendations.engine.datasets import read_interactions_csv

            try:
                return read_interactions_csv(path)
            except (ValueError, UnicodeDecodeError, OSError) as exc:
                raise CommandError(f"{path}: {exc}") from None
        return store_interactions(progress=progress)


def store_interactions(*, progress: bool = False) -> Any:
    """The store's events as the training matrix (same kind weights and cap as training)."""
    from recommendations.training import store_interactions as build

    interactions = build(progress=progress)  # the bar goes to stderr; stdout stays one object
    if interactions is None:
        raise CommandError("the store has no events to evaluate on; pass --interactions FILE.csv")
    return interactions
