"""Train models from the stored events and promote the candidates that pass the gate."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recommendations.training import FULL, INCREMENTAL, TrainingBusy, train


class Command(BaseCommand):
    help = (
        "Train every scenario from the stored events; each candidate is promoted only if its "
        "validation NDCG@10 is not worse than the active version's and popularity's."
    )

    def add_arguments(self, parser: Any) -> None:
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument(
            "--full",
            action="store_const",
            const=FULL,
            dest="kind",
            help="Read every event and number users and items afresh.",
        )
        kind.add_argument(
            "--incremental",
            action="store_const",
            const=INCREMENTAL,
            dest="kind",
            help="Add the events stored since the last run (the default; a first run is full).",
        )
        parser.set_defaults(kind=INCREMENTAL)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = train(options["kind"], progress=options["verbosity"] > 0)
        except TrainingBusy as exc:
            raise CommandError(str(exc)) from None
        if result.run_id is None:  # nothing was done
            self.stdout.write(f"{result.kind} training: {result.message}")
            return
        self.stdout.write(
            f"{result.kind} training: {result.events_read:,} events read "
            f"({result.event_count:,} in the state), {result.users:,} users, "
            f"{result.items:,} items, {result.seconds:.1f} s"
        )
        for outcome in result.scenarios:
            style = self.style.SUCCESS if outcome.promoted else self.style.WARNING
            self.stdout.write(style(f"  {outcome.describe()}"))
        self.stdout.write(result.message)
