"""Import the UCI Online Retail file into the store: products, customers, orders and purchases."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from shop.management.progress import progress_bar
from shop.online_retail import ImportFileError, ImportReport, import_online_retail


class Command(BaseCommand):
    help = (
        "Import the UCI Online Retail invoices (CSV, optionally gzipped; columns InvoiceNo, "
        "StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country). "
        "Idempotent: running it again stores nothing twice. Dataset: Chen, Sain & Guo (2012), "
        "UCI Machine Learning Repository, dataset 352, CC BY 4.0."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="online_retail.csv or online_retail.csv.gz")
        parser.add_argument("--limit", type=int, help="Import only the first N data lines.")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError(f"--limit must be a positive number of lines, not {limit}.")
        started = time.monotonic()
        try:
            report = import_online_retail(
                options["path"], limit=limit, progress=progress_bar(options["verbosity"])
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(summary_table(report, time.monotonic() - started))


def summary_table(report: ImportReport, seconds: float) -> str:
    top_codes = ", ".join(f"{code} {n:,}" for code, n in report.non_product_codes.most_common(6))
    rows = [
        ("Lines read", f"{report.lines_read:,}"),
        ("Sale lines imported", f"{report.sale_lines:,}"),
        ("Non-product lines skipped", f"{report.non_product_lines:,} ({top_codes or 'none'})"),
        ("Quantity/price <= 0 skipped", f"{report.invalid_lines:,}"),
        ("Malformed lines skipped", f"{report.malformed_lines:,}"),
        ("Categories created", f"{report.categories_created:,}"),
        (
            "Products created / existing",
            f"{report.products_created:,} / {report.products_existing:,}",
        ),
        (
            "Customers created / existing",
            f"{report.customers_created:,} / {report.customers_existing:,}",
        ),
        (
            "Orders created / existing",
            f"{report.orders_created:,} (guest {report.guest_orders_created:,}) "
            f"/ {report.orders_existing:,}",
        ),
        ("Order lines created", f"{report.order_lines_created:,}"),
        ("Purchase events stored", f"{report.events_stored:,}"),
        (
            "Cancellation lines",
            f"{report.cancellation_lines:,}: {report.cancellations_matched:,} matched, "
            f"{report.cancellations_unmatched:,} without an original",
        ),
        ("Orders marked cancelled", f"{report.orders_cancelled:,}"),
        ("Time", f"{seconds:.1f}s"),
    ]
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + 2 + max(len(value) for _, value in rows))
    body = "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
    return f"Online Retail import\n{rule}\n{body}\n{rule}"
