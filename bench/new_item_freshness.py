"""New products: from a product's first views to its first appearance in the lists, on the
default schedules.

Command:  .venv/bin/python bench/new_item_freshness.py [--timeout 480]
Data:     the demo store (``shop_seed_demo``: 300 products, 300 customers, four weeks of
          generated browsing and orders) in a fresh PostgreSQL database of its own, trained once
          with ``recommendations_train --full`` before the clock starts.
Setup:    services mode, every process the README lists: gunicorn (2 sync workers), one ingest
          consumer, one Celery worker and Celery beat with django-celery-beat's scheduler and the
          default schedules (incremental training every 300 s). The benchmark creates a product,
          then 16 visitors open the pages of an existing product A, of the new product N and of
          another product B, over HTTP with a browser user agent.

Measured, from the first view of N: when N's own "similar" list comes from a trained model
(before that it holds content neighbours, from N's save) and when N appears in A's "also-viewed"
and "similar" lists from a trained model (with a behaviour reason: N reaches them sooner through
the trending backfill, which is not counted), each read through the REST API every two seconds. The baseline is the
incremental schedule's period; the ratio says how much of the wait is the schedule itself. The
phase of beat's schedule is whatever it is when the benchmark starts: one run is one sample of a
wait that is uniform over the period plus the run's own time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "recommendations_bench_freshness"
os.environ.setdefault("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
sys.path.insert(0, str(ROOT / "bench"))

import _services as svc  # noqa: E402

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
VISITORS = 16
POLL_S = 2.0


def fresh_store() -> float:
    """A new database with the demo store, trained once; returns the seconds it took."""
    started = time.perf_counter()
    for sql in (f"DROP DATABASE IF EXISTS {DB_NAME}", f"CREATE DATABASE {DB_NAME}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    svc.reset_stream()
    manage = [svc.PYTHON, "manage.py"]
    for command in (["migrate", "-v0"], ["shop_seed_demo"], ["recommendations_train", "--full"]):
        subprocess.run(
            [*manage, *command], cwd=ROOT, env=svc.env(), check=True, stdout=subprocess.DEVNULL
        )
    return time.perf_counter() - started


def get(url: str, cookie: str = "") -> bytes:
    headers = {"User-Agent": BROWSER, "Accept": "text/html,application/json"}
    if cookie:
        headers["Cookie"] = cookie
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
        return r.read()


def listed(base: str, slot: str, item: str) -> list[tuple[str, str]]:
    body = json.loads(
        get(f"{base}/recommendations/api/recommendations/{slot}/?item={item}&limit=50")
    )
    return [(entry["item_id"], entry["reason"]["kind"]) for entry in body["items"]]


def main() -> None:
    from _common import print_header, print_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=480.0)
    args = parser.parse_args()

    setup_s = fresh_store()
    svc.django_setup()
    from django.db.models import Count
    from django_celery_beat.models import PeriodicTask

    from recommendations.models import Event, EventKind, TrainingRun
    from shop.models import Product

    period = PeriodicTask.objects.get(task="recommendations.train_incremental").interval.every
    # The two least-viewed products: the new one's sixteen co-views then make it a clear
    # neighbour of theirs, as it would be of a niche product in a real store.
    views = dict(
        Event.objects.filter(kind=EventKind.VIEW)
        .values("item_id")
        .annotate(n=Count("pk"))
        .values_list("item_id", "n")
    )
    sellable = Product.objects.filter(active=True, stock__gt=0).order_by("pk")
    first, second = sorted(sellable, key=lambda product: views.get(str(product.pk), 0))[:2]
    celery = [svc.PYTHON, "-m", "celery", "-A", "shop"]
    with (
        svc.gunicorn() as (base, _),
        svc.consumer(),
        svc.process([*celery, "worker", "-l", "warning", "-c", "1"], log_name="worker"),
        svc.process(
            [
                *celery, "beat", "-l", "warning",
                "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler",
                "--schedule", str(Path(tempfile.gettempdir()) / "recommendations-beat"),
            ],
            log_name="beat",
        ),
    ):  # fmt: skip
        new = Product.objects.create(
            sku="FRESH-1",
            title=f"{first.title} (new edition)",
            slug="fresh-new-edition",
            description=first.description,
            category=first.category,
            price=first.price,
            stock=100,
        )
        started = time.monotonic()
        for visitor in range(VISITORS):
            cookie = svc.signed_visitor_cookie(f"fe{visitor:030x}")  # 32 hex digits
            for product in (first, new, second):
                get(f"{base}/products/{product.pk}/", cookie)
                time.sleep(0.2)
        views_s = time.monotonic() - started
        seen: dict[str, float] = {}
        item, other = str(new.pk), str(first.pk)
        runs_before = TrainingRun.objects.filter(kind="incremental").count()
        while len(seen) < 3 and time.monotonic() - started < args.timeout:
            own = listed(base, "similar", item)
            learned = {"because-viewed", "similar", "bought-together"}
            checks = {
                "N's similar list from a trained model": bool(own)
                and own[0][1] != "similar-content",
                "N in A's also-viewed": dict(listed(base, "also-viewed", other)).get(item)
                in learned,
                "N in A's similar": dict(listed(base, "similar", other)).get(item) in learned,
            }
            for name, ok in checks.items():
                if ok and name not in seen:
                    seen[name] = time.monotonic() - started
            time.sleep(POLL_S)
        runs = list(TrainingRun.objects.filter(kind="incremental").order_by("pk")[runs_before:])

    names = [
        "N's similar list from a trained model",
        "N in A's also-viewed",
        "N in A's similar",
    ]
    run_s = [(run.finished_at - run.started_at).total_seconds() for run in runs if run.finished_at]
    print_header(
        "New products: first views to first appearance in the lists, default schedules",
        f"demo store (shop_seed_demo, trained once; setup {setup_s:.0f} s, untimed); a new product "
        f"N beside A = product {first.pk} ({views.get(str(first.pk), 0)} earlier views); {VISITORS} visitors view A, N, B over HTTP in "
        f"{views_s:.1f} s; services mode: gunicorn, consumer, Celery worker and beat",
    )
    print_table(
        ["list", "seconds after N's first view", "ratio to the schedule period"],
        [
            [name, f"{seen[name]:.1f}" if name in seen else "not seen", (
                f"{seen[name] / period:.2f}" if name in seen else "-"
            )]
            for name in names
        ],
    )  # fmt: skip
    print(
        f"incremental schedule: every {period} s; incremental runs during the wait: "
        f"{len(runs)}, {', '.join(f'{s:.1f} s' for s in run_s) or 'none finished'}"
    )
    print(
        json.dumps(
            {
                "schedule_s": period,
                "views_s": round(views_s, 2),
                **{
                    key: round(seen[name], 1) if name in seen else None
                    for key, name in zip(
                        ("own_list_s", "also_viewed_s", "similar_s"), names, strict=True
                    )
                },
                "incremental_runs": len(runs),
                "incremental_run_s": [round(s, 2) for s in run_s],
            }
        )
    )


if __name__ == "__main__":
    main()
