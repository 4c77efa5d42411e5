"""Run the ingest consumer: move events from the Redis stream into the database."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError

from recommendations import redis_client
from recommendations.conf import app_settings
from recommendations.tracking.ingest import Consumer, IngestStats

logger = logging.getLogger("recommendations.ingest")


class Command(BaseCommand):
    help = "Consume tracked events from the Redis stream and store them (stops on SIGTERM/SIGINT)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--name",
            help="Consumer name; reuse it across restarts to resume its own pending messages.",
        )
        parser.add_argument("--batch-size", type=int, help="Messages read per batch.")
        parser.add_argument(
            "--claim-idle-ms",
            type=int,
            help="Take over messages another consumer left unacknowledged this long (default: setting).",
        )
        parser.add_argument(
            "--linger-ms",
            type=int,
            help="Longest wait for more messages after a partial batch (default: setting).",
        )
        parser.add_argument(
            "--linger-min-rate",
            type=float,
            help="Wait only while messages arrive at least this many per second; 0: always "
            "(default: setting).",
        )
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="Stop once the stream has nothing left to read instead of waiting for more.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not app_settings.services_mode:
            raise CommandError(
                "RECOMMENDATIONS['REDIS_URL'] is not set: in embedded mode events are stored directly "
                "and there is nothing to ingest."
            )
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        for option in ("linger_ms", "linger_min_rate"):
            if options[option] is not None and options[option] < 0:
                raise CommandError(f"--{option.replace('_', '-')} must not be negative.")
        self.verbosity = options["verbosity"]
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        consumer = Consumer(
            options["name"],
            batch_size=options["batch_size"],
            claim_idle_ms=options["claim_idle_ms"],
            linger_ms=options["linger_ms"],
            linger_min_rate=options["linger_min_rate"],
        )
        self.stdout.write(
            f"Consumer {consumer.name} reading {consumer.stream} (group {consumer.group})"
        )
        self._warn_if_unsafe()
        self.stdout.flush()
        stats = consumer.run(stop, until_idle=options["until_idle"], on_batch=self._report)
        self.stdout.write(self._summary(stats))

    def _warn_if_unsafe(self) -> None:
        """Say at start when the stream's Redis may lose what it acknowledged (check W003)."""
        try:
            problems = redis_client.durability_problems(redis_client.get_redis(timeout=1.0))
        except redis.RedisError:
            return  # the consumer's own loop reports and retries an unreachable Redis
        for problem in problems:
            message = f"Warning: the event stream's Redis may lose accepted events: {problem}."
            self.stderr.write(self.style.WARNING(message))
            logger.warning(message)

    def _report(self, stats: IngestStats) -> None:
        if self.verbosity >= 2:
            self.stdout.write(self._summary(stats))

    @staticmethod
    def _summary(stats: IngestStats) -> str:
        return (
            f"messages={stats.messages} batches={stats.batches} stored={stats.stored} duplicates={stats.duplicates} "
            f"dead_lettered={stats.dead_lettered}"
        )
