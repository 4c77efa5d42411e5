"""Stock the demo store with a synthetic catalogue, customers and weeks of behaviour."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shop.management.progress import progress_bar
from shop.models import Product
from shop.seeding import SeedOptions, seed_demo_store

LIMITS = {"products": (1, 100_000), "customers": (0, 100_000), "days": (1, 3650)}


class Command(BaseCommand):
    help = (
        "Create a realistic synthetic store: categories, products, customers with tastes, and "
        "browsing sessions and paid orders spread over the past --days. Deterministic for a "
        "given --seed; re-running adds only what is missing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when products already exist."
        )
        parser.add_argument("--products", type=int, default=300)
        parser.add_argument("--customers", type=int, default=300)
        parser.add_argument("--days", type=int, default=28)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        for name, (low, high) in LIMITS.items():
            if not low <= options[name] <= high:
                raise CommandError(
                    f"--{name} must be between {low} and {high}, not {options[name]}."
                )
        if options["if_empty"] and Product.objects.exists():
            self.stdout.write("The store already has products; nothing to do (--if-empty).")
            return
        started = time.monotonic()
        report = seed_demo_store(
            SeedOptions(
                products=options["products"],
                customers=options["customers"],
                days=options["days"],
                seed=options["seed"],
            ),
            progress=progress_bar(options["verbosity"]),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {time.monotonic() - started:.1f}s: {report.categories} categories, "
                f"{report.products} products, {report.customers} customers, {report.orders} orders "
                f"({report.order_lines} lines), {report.events_stored} new events "
                f"of {report.events_generated} generated, {report.segments} segments "
                f"({report.segment_members} members)."
            )
        )
