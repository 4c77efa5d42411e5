"""Compute demand forecasts, stock warnings, elasticities and price suggestions now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from recommendations.insights.nightly import compute_insights


class Command(BaseCommand):
    help = (
        "Forecast every active product's demand from the stored events (the method chosen per "
        "product by a backtest), flag stock about to run out or overstocked, and suggest prices; "
        "what the nightly forecast_demand task does."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = compute_insights(progress=options["verbosity"] > 0)
        self.stdout.write(
            f"{result.products:,} products: {result.forecast:,} forecast, "
            f"{result.too_new:,} too new; {result.demand_days:,} product-days of demand; "
            f"{result.seconds:.1f} s"
        )
        if result.methods:
            methods = ", ".join(f"{name} {n}" for name, n in sorted(result.methods.items()))
            self.stdout.write(f"  methods chosen: {methods}")
        statuses = ", ".join(f"{name} {n}" for name, n in sorted(result.statuses.items()))
        self.stdout.write(f"  stock: {statuses or 'no products'}")
        made = result.suggestions
        self.stdout.write(
            self.style.SUCCESS(
                f"  price suggestions: {made.get('created', 0)} new, {made.get('kept', 0)} "
                f"still pending, {made.get('expired', 0)} expired"
            )
        )
