"""Install the app's default periodic tasks into django-celery-beat."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from recommendations.schedules import install_schedules


class Command(BaseCommand):
    help = "Create the default periodic tasks (existing ones are kept unless --reset)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Restore the defaults over admin edits."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        changed = install_schedules(reset=options["reset"])
        for name in changed:
            self.stdout.write(f"installed {name}")
        if not changed:
            self.stdout.write("all default schedules already exist")
