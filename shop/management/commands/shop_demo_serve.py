"""Serve the demo with its Celery worker and beat, so that the periodic schedules really run."""

from __future__ import annotations

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from shop.demo_services import start_services, stop_services, tasks_run_in_a_worker


class Command(BaseCommand):
    help = (
        "Start a Celery worker and beat (django-celery-beat's DatabaseScheduler; in services mode "
        "also the ingest consumer), then runserver; when the server stops, so do they. Needs a "
        "broker: REDIS_URL in services mode, else CELERY_BROKER_URL (make demo uses filesystem://)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if not tasks_run_in_a_worker():
            raise CommandError(
                "Celery runs tasks eagerly here (memory:// broker), so a worker would get nothing: "
                "set CELERY_BROKER_URL=filesystem:// (as make demo does) or REDIS_URL."
            )
        log_dir = settings.BASE_DIR / "var" / "log"
        # A SIGTERM (from make, a supervisor) must reach the finally below, like Ctrl-C does.
        signal.signal(signal.SIGTERM, _exit)
        services = start_services(log_dir)
        for service in services:
            self.stdout.write(
                f"Started {service.name} (pid {service.process.pid}), log: {service.log}"
            )
        try:
            # No autoreloader: it would run this command again in a child, with a second worker.
            call_command(
                "runserver",
                options["addrport"],
                use_reloader=False,
                skip_checks=options["skip_checks"],
            )
        finally:
            self.stdout.write("Stopping " + ", ".join(s.name for s in services) + "…")
            stop_services(services)


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
