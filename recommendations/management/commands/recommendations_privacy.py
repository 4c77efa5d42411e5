"""Export or erase everything the app holds about one person (GDPR Art. 15, 17, 20)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommendations.models import ErasureRequest
from recommendations.privacy import ErasureBusy, erase, export


class Command(BaseCommand):
    help = (
        "export: print (or --output) a JSON document of everything the app holds about a user "
        "(with all their visitor ids) or a visitor. erase: stop tracking them, purge every "
        "store, and verify that nothing is left."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        for name in ("export", "erase"):
            action = actions.add_parser(name, help=f"{name} a person's data")
            who = action.add_mutually_exclusive_group(required=True)
            who.add_argument("--user", type=int, metavar="ID", help="The user's primary key.")
            who.add_argument("--visitor", metavar="VISITOR_ID", help="A bare visitor id.")
            if name == "export":
                action.add_argument("--output", metavar="FILE", help="Write here, not stdout.")
            else:
                action.add_argument(
                    "--wait",
                    type=float,
                    default=600.0,
                    metavar="SECONDS",
                    help="How long to wait for a training run to finish (default 600).",
                )

    def handle(self, *args: Any, **options: Any) -> None:
        who = {"user_id": options["user"], "visitor_id": options["visitor"]}
        if options["action"] == "export":
            document = export(**who)
            text = json.dumps(document, indent=2)
            if options["output"]:
                with open(options["output"], "w") as handle:
                    handle.write(text + "\n")
                self.stderr.write(
                    f"Exported {len(document['events'])} event(s) to {options['output']}"
                )
            else:
                self.stdout.write(text)
            return
        show = options["verbosity"] > 0
        try:
            record = erase(
                **who,
                via=ErasureRequest.Via.COMMAND,
                wait=options["wait"],
                progress=(lambda step: self.stderr.write(f"  {step}…")) if show else None,
            )
        except ErasureBusy as busy:
            raise CommandError(f"Erasure #{busy.request.pk} is pending: {busy}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        counts = json.dumps(record.counts, sort_keys=True)
        if record.status != ErasureRequest.Status.COMPLETED:
            raise CommandError(f"{record}: {record.message} (removed: {counts})")
        self.stdout.write(
            self.style.SUCCESS(f"{record}: verified at {record.verified_at:%Y-%m-%d %H:%M:%S %Z}")
        )
        if show:
            self.stdout.write(f"Removed: {counts}")
