"""Make an earlier model version active again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from recommendations.registry import RegistryError, active_version, rollback
from recommendations.types import Scenario


class Command(BaseCommand):
    help = (
        "Roll SCENARIO back to the version that was active before the current one, or to the "
        "version --to ID. Its stored lists are recomputed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "scenario",
            help=f"One of: {', '.join(Scenario.values)} (the slot's spelling, e.g. for-you, too).",
        )
        parser.add_argument("--to", type=int, metavar="ID", help="The model version id.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Activate the version even though the promotion gate rejected it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            scenario = Scenario.parse(options["scenario"])
            before = active_version(scenario)
            version = rollback(scenario, to=options["to"], force=options["force"])
        except (RegistryError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        was = f" (was {before.version})" if before else ""
        self.stdout.write(
            self.style.SUCCESS(f"{scenario}: {version.version} is active{was}; lists recomputed")
        )
        if options["force"] and "overriding the gate" in version.reason:
            self.stdout.write(self.style.WARNING(f"{version.version}: {version.reason}"))
